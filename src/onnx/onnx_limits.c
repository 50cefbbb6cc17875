/* Limits checked on serialized protobuf before protobuf-c unpacks it. protobuf-c recurses
 * once per nested message with no depth limit (a small file of nested subgraphs would
 * overflow the stack) and allocates a struct per message (an empty 2-byte submessage becomes
 * ~100 bytes), so the wire format is walked here first, iteratively, following the same
 * schema (protobuf-c's descriptors): nesting depth, lengths past the end, decoded size. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>

#include "core/util.h"
#include "onnx_internal.h"
#include "onnxtrain/onnx_io.h"
#include "core/context_internal.h"

/* Decoding cost per field occurrence (protobuf-c's scan record plus the stored value). */
#define FIELD_COST 48

typedef struct frame {
    const ProtobufCMessageDescriptor *desc;
    size_t end;
} frame;

static int read_varint(const unsigned char *data, size_t end, size_t *pos, uint64_t *value) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70 && *pos < end; shift += 7) {
        unsigned char byte = data[(*pos)++];
        v |= (uint64_t)(byte & 0x7f) << (shift < 64 ? shift : 0);
        if (!(byte & 0x80)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

/* The schema walked also checks .caffemodel files (src/caffe): name the right format. */
static ot_status corrupt(const ProtobufCMessageDescriptor *root, const char *what, size_t at, const char *problem) {
    const char *format = strcmp(root->package_name, "caffe") ? "ONNX" : "Caffe";
    return oti_fail(OT_ERR_FORMAT, "%s: not a valid %s protobuf: %s at byte %zu (truncated or "
                   "corrupt file?)", what, format, problem, at);
}

ot_status oti_onnx_check_limits(const ot_context *ctx, const void *buffer, size_t size, const ProtobufCMessageDescriptor *root,
                            const char *what) {
    const unsigned char *data = buffer;
    frame stack[OT_ONNX_MAX_NESTING + 1];
    int depth = 0;
    stack[0] = (frame){root, size};
    size_t pos = 0;
    uint64_t cost = root->sizeof_message; /* what decoding allocates (the file is checked apart) */
    for (;;) {
        while (depth >= 0 && pos == stack[depth].end) depth--;
        if (depth < 0) break;
        size_t end = stack[depth].end, at = pos;
        uint64_t tag, value;
        if (!read_varint(data, end, &pos, &tag) || tag >> 3 == 0 || tag >> 3 > UINT32_MAX)
            return corrupt(root, what, at, "a bad field tag");
        cost += FIELD_COST;
        switch (tag & 7) {
        case 0: /* varint */
            if (!read_varint(data, end, &pos, &value)) return corrupt(root, what, at, "a truncated number");
            break;
        case 1: /* 64-bit */
        case 5: /* 32-bit */
            if (end - pos < ((tag & 7) == 1 ? 8u : 4u)) return corrupt(root, what, at, "a truncated number");
            pos += (tag & 7) == 1 ? 8 : 4;
            break;
        case 2: { /* length-delimited: a submessage, a string, bytes or a packed array */
            if (!read_varint(data, end, &pos, &value) || value > end - pos)
                return corrupt(root, what, at, "a length that runs past the end of its message");
            const ProtobufCFieldDescriptor *field =
                protobuf_c_message_descriptor_get_field(stack[depth].desc, (unsigned)(tag >> 3));
            if (field && field->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth == OT_ONNX_MAX_NESTING)
                    return oti_fail(OT_ERR_FORMAT, "%s: protobuf messages nested more than %d deep "
                                   "(at byte %zu; subgraphs in subgraphs?): over the nesting limit "
                                   "(rebuild with -DOT_ONNX_MAX_NESTING=N to raise it)", what,
                                   OT_ONNX_MAX_NESTING, at);
                const ProtobufCMessageDescriptor *desc = field->descriptor;
                cost += desc->sizeof_message;
                stack[++depth] = (frame){desc, pos + (size_t)value};
            } else {
                /* Packed numbers widen to 8 bytes at most; strings and bytes are copied. */
                int packed = field && field->label == PROTOBUF_C_LABEL_REPEATED &&
                             field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_BYTES;
                cost += packed ? value * 8 : value + 1;
                pos += (size_t)value;
            }
            break;
        }
        default: /* groups (3, 4) are not in ONNX's schema and protobuf-c refuses them */
            return corrupt(root, what, at, "an unsupported wire type");
        }
    }
    char *decoding = oti_asprintf("%s: decoding the protobuf", what);
    OT_ALLOC_CHECK(decoding);
    ot_status status = oti_check_memory(ctx, cost > SIZE_MAX ? SIZE_MAX : (size_t)cost, decoding);
    free(decoding);
    return status;
}

ot_status oti_onnx_check_file_size(const ot_context *ctx, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return oti_fail(OT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > OT_ONNX_MAX_FILE_BYTES)
        return oti_fail(OT_ERR_MEMORY, "%s: the file is %.1f MiB, over the %.0f MiB a single ONNX "
                       "protobuf may hold: keep the weights as external data next to it "
                       "(onnx.save_model(..., save_as_external_data=True))", path,
                       st.st_size / 1048576.0, OT_ONNX_MAX_FILE_BYTES / 1048576.0);
    char *reading = oti_asprintf("%s: reading the file", path);
    OT_ALLOC_CHECK(reading);
    ot_status status = oti_check_memory(ctx, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, reading);
    free(reading);
    return status;
}
