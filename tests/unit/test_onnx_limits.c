/* Limits on hostile ONNX files, checked before protobuf-c decodes them: nesting depth (deep
 * nesting used to overflow the stack inside protobuf-c), lengths past the end, decoded size
 * against --max-memory, the file size, and tensor dims that their data does not back. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>

#include "onnxtrain/onnx_io.h"
#include "test_support.h"

typedef struct bytes {
    unsigned char *data;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *data, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

static void put_varint(bytes *b, uint64_t v) {
    do {
        unsigned char byte = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) byte |= 0x80;
        put(b, &byte, 1);
    } while (v);
}

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >>= 7) n++;
    return n;
}

/* A ModelProto (IR 8, opset 17) whose graph field holds `count` levels of length-delimited
 * fields with the given one-byte tags (outermost first), around `inner`. */
static bytes nested_model(const unsigned char *tags, int count, const void *inner, size_t inner_len) {
    size_t *len = calloc((size_t)count + 1, sizeof(size_t));
    len[count] = inner_len;
    for (int i = count - 1; i >= 0; i--) len[i] = 1 + varint_size(len[i + 1]) + len[i + 1];
    bytes b = {0};
    put(&b, "\x08\x08", 2);
    for (int i = 0; i < count; i++) {
        put(&b, &tags[i], 1);
        put_varint(&b, len[i + 1]);
    }
    put(&b, inner, inner_len);
    put(&b, "\x42\x02\x10\x11", 4);
    free(len);
    return b;
}

/* graph > input (ValueInfo) > type > (sequence_type > elem_type) x pairs > tensor_type. */
static bytes sequence_model(int pairs) {
    int count = 3 + 2 * pairs;
    unsigned char *tags = malloc((size_t)count);
    tags[0] = 0x3a, tags[1] = 0x5a, tags[2] = 0x12;
    for (int i = 0; i < pairs; i++) tags[3 + 2 * i] = 0x22, tags[4 + 2 * i] = 0x0a;
    bytes b = nested_model(tags, count, "\x0a\x02\x08\x01", 4);
    free(tags);
    return b;
}

static ot_status load(const bytes *b, ot_model **m) {
    return ot_onnx_load_buffer(NULL, b->data, b->len, NULL, "deep.onnx", OT_LOAD_STRUCTURE_ONLY, m);
}

static void nesting_is_bounded(void **state) {
    (void)state;
    ot_model *m = NULL;
    /* 4 + 2 * 30 = 64 levels: decoded (and refused for other reasons: a sequence input). */
    bytes ok = sequence_model(30);
    assert_int_not_equal(load(&ok, &m), OT_OK);
    assert_null(strstr(ot_last_error(), "nested"));
    free(ok.data);
    bytes deep = sequence_model(31);
    assert_int_equal(load(&deep, &m), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "deep.onnx: protobuf messages nested more than 64 deep"));
    assert_non_null(strstr(ot_last_error(), "OT_ONNX_MAX_NESTING"));
    free(deep.data);
    /* 200001 levels (1.6 MB): protobuf-c's recursion used to overflow the stack. */
    bytes hostile = sequence_model(100000);
    assert_int_equal(load(&hostile, &m), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "nested more than 64 deep"));
    free(hostile.data);
    assert_null(m);
}

static void lengths_past_the_end(void **state) {
    (void)state;
    ot_model *m = NULL;
    /* graph claims 16 bytes, the file has 1 more. */
    static const unsigned char cut[] = {0x08, 0x08, 0x3a, 0x10, 0x0a};
    assert_int_equal(ot_onnx_load_buffer(NULL, cut, sizeof cut, NULL, "cut.onnx", OT_LOAD_FULL, &m),
                     OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "cut.onnx: not a valid ONNX protobuf: a length that runs past the end"));
    /* A node inside the graph claims more than the graph holds. */
    static const unsigned char inner[] = {0x3a, 0x04, 0x0a, 0x05, 0x22, 0x01, 0x41};
    assert_int_equal(ot_onnx_load_buffer(NULL, inner, sizeof inner, NULL, "inner.onnx", OT_LOAD_FULL, &m),
                     OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "runs past the end of its message"));
    /* Groups (wire types 3 and 4) are not protobuf that ONNX writes. */
    static const unsigned char group[] = {0x0b, 0x0c};
    assert_int_equal(ot_onnx_load_buffer(NULL, group, sizeof group, NULL, "group.onnx", OT_LOAD_FULL, &m),
                     OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "unsupported wire type"));
}

static void decoded_size_against_max_memory(void **state) {
    (void)state;
    /* 200000 empty nodes: 400 KB on disk, tens of MB once decoded (a struct per node). */
    bytes nodes = {0};
    for (int i = 0; i < 200000; i++) put(&nodes, "\x0a\x00", 2);
    static const unsigned char graph_tag[] = {0x3a};
    bytes b = nested_model(graph_tag, 1, nodes.data, nodes.len);
    ot_model *m = NULL;
    ot_context_options limited = {.threads = 1, .memory_limit = (size_t)8 << 20};
    ot_context *ctx;
    assert_int_equal(ot_context_create(&limited, &ctx), OT_OK);
    ot_status status = ot_onnx_load_buffer(ctx, b.data, b.len, NULL, "nodes.onnx", OT_LOAD_FULL, &m);
    ot_context_free(ctx);
    assert_int_equal(status, OT_ERR_MEMORY);
    assert_non_null(strstr(ot_last_error(), "nodes.onnx: decoding the protobuf needs"));
    assert_non_null(strstr(ot_last_error(), "over the memory limit of 8.0 MiB"));
    assert_null(strstr(ot_last_error(), "--max-memory")); /* the library names no CLI flag */
    /* Without the limit it decodes, and fails on what it holds. */
    status = ot_onnx_load_buffer(NULL, b.data, b.len, NULL, "nodes.onnx", OT_LOAD_FULL, &m);
    assert_int_equal(status, OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "no op_type"));
    free(b.data);
    free(nodes.data);
}

/* An initializer "w" with dims [2^30] (4 GiB of float32) and the given data fields. */
static bytes big_initializer(const void *fields, size_t n) {
    bytes tensor = {0};
    put(&tensor, "\x08\x80\x80\x80\x80\x04", 6); /* dims: 1 << 30 */
    put(&tensor, "\x10\x01", 2);                 /* data_type: FLOAT */
    put(&tensor, "\x42\x01w", 3);                /* name */
    put(&tensor, fields, n);
    bytes graph = {0};
    put(&graph, "\x2a", 1); /* initializer */
    put_varint(&graph, tensor.len);
    put(&graph, tensor.data, tensor.len);
    static const unsigned char graph_tag[] = {0x3a};
    bytes b = nested_model(graph_tag, 1, graph.data, graph.len);
    free(tensor.data);
    free(graph.data);
    return b;
}

static void dims_need_their_data(void **state) {
    (void)state;
    ot_model *m = NULL;
    /* Refused from the counts, before a 4 GiB tensor is allocated. */
    bytes none = big_initializer("", 0);
    assert_int_equal(load(&none, &m), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "tensor 'w': float_data has 0 values, its dims need 1073741824"));
    free(none.data);
    bytes raw = big_initializer("\x4a\x04\x00\x00\x80\x3f", 6); /* raw_data: 4 bytes */
    assert_int_equal(load(&raw, &m), OT_ERR_FORMAT);
    assert_non_null(strstr(ot_last_error(), "raw_data has 4 bytes"));
    free(raw.data);
}

static void file_size_limits(void **state) {
    (void)state;
    char dir[] = "/tmp/onnxtrain-limits-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/big.onnx", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    assert_true(fd >= 0);
    /* Sparse: 3 GiB claimed, nothing written, nothing read. */
    assert_int_equal(ftruncate(fd, (off_t)3 << 30), 0);
    close(fd);
    ot_model *m = NULL;
    assert_int_equal(ot_onnx_load(NULL, path, &m), OT_ERR_MEMORY);
    assert_non_null(strstr(ot_last_error(), "big.onnx: the file is 3072.0 MiB, over the 2048 MiB"));
    assert_non_null(strstr(ot_last_error(), "save_as_external_data=True"));
    /* Under the protobuf limit but over --max-memory. */
    assert_int_equal(truncate(path, (off_t)3 << 20), 0);
    ot_context_options limited = {.threads = 1, .memory_limit = (size_t)1 << 20};
    ot_context *ctx;
    assert_int_equal(ot_context_create(&limited, &ctx), OT_OK);
    ot_status status = ot_onnx_load(ctx, path, &m);
    ot_context_free(ctx);
    assert_int_equal(status, OT_ERR_MEMORY);
    assert_non_null(strstr(ot_last_error(), "big.onnx: reading the file needs 3.0 MiB, over the memory "
                                            "limit of 1.0 MiB"));
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nesting_is_bounded),
        cmocka_unit_test(lengths_past_the_end),
        cmocka_unit_test(decoded_size_against_max_memory),
        cmocka_unit_test(dims_need_their_data),
        cmocka_unit_test(file_size_limits),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
