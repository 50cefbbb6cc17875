/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord files, and
 * TFRecord's masked form of it. zlib has only the IEEE CRC-32, hence this small table-driven one. */
#ifndef ONNXTRAIN_CRC32C_H
#define ONNXTRAIN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of size bytes, continuing from crc (0 to start). */
uint32_t oti_crc32c(uint32_t crc, const void *data, size_t size);
/* TFRecord's mask: rotate right by 15 and add 0xa282ead8, so a CRC over data that itself holds
 * CRCs does not degenerate. */
uint32_t oti_crc32c_masked(const void *data, size_t size);

#endif
