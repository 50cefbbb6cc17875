/* Shared by the libFuzzer harnesses: a private temporary folder for readers that need a file
 * (libhdf5, the data loaders), and the memory limit used where a user would need --max-memory
 * (a 100-byte model may legitimately ask for gigabytes of activations). */
#ifndef OT_FUZZ_COMMON_H
#define OT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* --max-memory where the input legitimately asks for memory beyond its size (constant
 * folding, plans, decoding images). Other readers run without a limit: whatever they allocate must be backed by
 * bytes of the input, and libFuzzer's -malloc_limit_mb reports anything that is not. */
#define FUZZ_MEMORY_LIMIT ((size_t)64 << 20)

/* Creates the folder; call from LLVMFuzzerInitialize. */
void fuzz_init(void);
/* The per-process folder under $TMPDIR (removed at exit). */
const char *fuzz_dir(void);
/* Writes data to fuzz_dir()/name, creating the folders in name ("a/x.png"), and returns the
 * full path (valid until the next call with the same slot, 0..3). */
const char *fuzz_write(int slot, const char *name, const uint8_t *data, size_t size);

#endif
