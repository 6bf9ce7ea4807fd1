// proto.ts - sbatch.proto, loaded with @grpc/proto-loader from beside this
// module (src/sbatch in development, dist/sbatch once built: build:ts copies
// the .proto there), and one typed unary-call helper shared by the client,
// the tests and anything else that speaks to an sbatch service.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Where this module expects sbatch.proto. */
export const SBATCH_PROTO_PATH = fileURLToPath(new URL('./sbatch.proto', import.meta.url));

// Messages as proto-loader hands them over (keepCase: the proto's own field names).

export type ChallengeRequest = Record<string, never>;
export interface ChallengeResponse {
  challenge: Uint8Array;
}
export interface GetSBatchRequest {
  batch_location_hash: string;
  signed_challenge: Uint8Array;
  challenge: Uint8Array;
  provider_address: Uint8Array;
  customer_address: Uint8Array;
  job_id: string;
}
export interface GetSBatchResponse {
  sbatch: string;
  grid_logger_url: string;
}
export interface SubmitSBatchRequest {
  sbatch: string;
  grid_logger_url?: string | undefined;
}
export interface SubmitSBatchResponse {
  batch_location_hash: string;
}

export interface SbatchProto {
  /** sbatchapi.v1alpha1.AuthAPI */
  authService: grpc.ServiceDefinition;
  /** sbatchapi.v1alpha1.SBatchAPI */
  sbatchService: grpc.ServiceDefinition;
  methods: {
    challenge: grpc.MethodDefinition<ChallengeRequest, ChallengeResponse>;
    getSBatch: grpc.MethodDefinition<GetSBatchRequest, GetSBatchResponse>;
    submitSBatch: grpc.MethodDefinition<SubmitSBatchRequest, SubmitSBatchResponse>;
  };
}

let cached: SbatchProto | undefined;

/** The parsed proto (loaded once per process). */
export function sbatchProto(): SbatchProto {
  if (cached) return cached;
  if (!existsSync(SBATCH_PROTO_PATH)) {
    throw new Error(
      `${SBATCH_PROTO_PATH} is missing: the sbatch service definition ships beside the compiled code; rebuild with \`npm run build:ts\`, which copies src/sbatch/sbatch.proto into dist/sbatch/`,
    );
  }
  const def = protoLoader.loadSync(SBATCH_PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    sbatchapi: { v1alpha1: { AuthAPI: grpc.ServiceClientConstructor; SBatchAPI: grpc.ServiceClientConstructor } };
  };
  const { AuthAPI, SBatchAPI } = pkg.sbatchapi.v1alpha1;
  const method = <Req, Res>(svc: grpc.ServiceDefinition, name: string) => {
    const m = svc[name];
    if (!m) throw new Error(`sbatch.proto has no method ${name}`);
    return m as grpc.MethodDefinition<Req, Res>;
  };
  cached = {
    authService: AuthAPI.service,
    sbatchService: SBatchAPI.service,
    methods: {
      challenge: method(AuthAPI.service, 'Challenge'),
      getSBatch: method(SBatchAPI.service, 'GetSBatch'),
      submitSBatch: method(SBatchAPI.service, 'SubmitSBatch'),
    },
  };
  return cached;
}

/** One unary call with a deadline; rejects with the grpc-js ServiceError. */
export function unary<Req, Res>(
  client: grpc.Client,
  m: grpc.MethodDefinition<Req, Res>,
  request: Req,
  deadline: Date | number,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new grpc.Metadata(), { deadline }, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}
