/* gl_crc32c.h - CRC32C (Castagnoli), hardware-accelerated on x86-64 with SSE4.2. */
#ifndef GL_CRC32C_H
#define GL_CRC32C_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Continue a CRC: pass 0 to start. */
uint32_t gl_crc32c(uint32_t crc, const void *data, size_t len);
#ifdef __cplusplus
}
#endif
#endif
