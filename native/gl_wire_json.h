/*
 * gl_wire_json.h - a decoded job event as the relay's wire record
 * (src/relay/protocol.ts, wireEventSchema), JSON text byte for byte as
 * JSON.stringify(toWireEvent(toJobEvent(ev))) writes it in src/relay/wire.ts:
 * same keys and order, u64 seq and write time as decimal strings, the other
 * numbers as JavaScript prints the doubles the addon makes of them, string
 * bytes that are not UTF-8 as the lone surrogates \udc80..\udcff of
 * src/native/bytes.ts. The relay reads a whole batch of records this way in
 * one call (no JavaScript object per record); test/native/wire-json.test.ts
 * checks the bytes against the JavaScript encoder.
 */
#ifndef GL_WIRE_JSON_H
#define GL_WIRE_JSON_H

#include <stddef.h>

#include "gl_event.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most bytes gl_wire_json() writes for ev (every string byte may take
 * 6: \u00XX or \udcXX). */
size_t gl_wire_json_max(const gl_event_t *ev);

/* Writes the record's JSON to out (room for gl_wire_json_max(ev) bytes, no
 * terminator); returns the bytes written. */
size_t gl_wire_json(const gl_event_t *ev, char *out);

#ifdef __cplusplus
}
#endif
#endif
