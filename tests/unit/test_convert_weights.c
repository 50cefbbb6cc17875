/* End to end: every weights file of the fixture CNN filled into its zeroed architecture gives
 * the initializers PyTorch exported and, run by our engine, PyTorch's output within 1e-5;
 * onnx -> npz/safetensors -> onnx is bit-exact; and `onnxtrain convert` on hostile inputs
 * exits 1 naming the file, leaving the output file untouched. */
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/file_io.h"
#include "formats/npy.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/weights.h"
#include "test_support.h"

static const char *const sources[] = {"cnn_state.pt", "cnn_nested.pt", "cnn.npz", "cnn.safetensors",
                                      "cnn_keras.h5", "cnn_keras_weights.h5"};

static const char *fixture(const char *name) {
    static char path[4][1024];
    static int next;
    char rel[512];
    snprintf(rel, sizeof rel, "weights/%s", name);
    next = (next + 1) % 4;
    snprintf(path[next], sizeof path[next], "%s", ts_fixture(rel));
    return path[next];
}

static ot_model *load_model(const char *path) {
    ot_model *m;
    if (ot_onnx_load(NULL, path, &m) != OT_OK) fail_msg("%s", ot_last_error());
    return m;
}

static size_t bytes_of(const ot_tensor *t) {
    return (size_t)ot_tensor_numel(t) * ot_dtype_size(t->dtype);
}

/* Every initializer of `want` is in `got` with the same dtype, shape and bytes. */
static void assert_same_initializers(const ot_model *got, const ot_model *want, const char *what) {
    int count = 0;
    for (int v = 0; v < want->n_values; v++) {
        const ot_value *w = &want->values[v];
        if (w->kind != OT_VALUE_INITIALIZER) continue;
        int g = ot_model_find_value(got, w->name);
        if (g < 0 || got->values[g].kind != OT_VALUE_INITIALIZER) fail_msg("%s: '%s' missing", what, w->name);
        const ot_tensor *a = &got->values[g].tensor, *b = &w->tensor;
        if (a->dtype != b->dtype || !ot_tensor_same_shape(a, b) || memcmp(a->data, b->data, bytes_of(b)))
            fail_msg("%s: initializer '%s' differs", what, w->name);
        count++;
    }
    assert_int_equal(count, 10);
}

static ot_model *convert_into_zero(const char *source) {
    ot_weights w;
    if (ot_weights_load(NULL, fixture(source), &w) != OT_OK) fail_msg("%s", ot_last_error());
    ot_model *m = load_model(fixture("cnn_zero.onnx"));
    ot_match_report r;
    ot_match_options strict = {NULL, 1};
    if (ot_weights_apply(m, &w, source, &strict, &r) != OT_OK) fail_msg("%s", ot_last_error());
    assert_int_equal(r.n_filled, 10);
    ot_match_report_free(&r);
    ot_weights_free(&w);
    return m;
}

/* The weights land exactly (PyTorch's own export holds the same bits). */
static void fills_pytorch_weights(void **state) {
    (void)state;
    ot_model *reference = load_model(fixture("cnn.onnx"));
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        ot_model *m = convert_into_zero(sources[s]);
        assert_same_initializers(m, reference, sources[s]);
        ot_model_free(m);
    }
    ot_model_free(reference);
}

/* Our engine on the converted model against PyTorch's output for the same input. */
static void engine_matches_pytorch(void **state) {
    (void)state;
    ot_tensor input, expected;
    assert_int_equal(oti_npy_load(NULL, fixture("input.npy"), &input), OT_OK);
    assert_int_equal(oti_npy_load(NULL, fixture("output.npy"), &expected), OT_OK);
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        ot_model *m = convert_into_zero(sources[s]);
        ot_tensor y = ts_run(m, 1, &input, 0);
        assert_true(ot_tensor_same_shape(&y, &expected));
        double worst = 0;
        for (int64_t i = 0; i < ot_tensor_numel(&y); i++)
            worst = fmax(worst, fabs((double)((float *)y.data)[i] - ((float *)expected.data)[i]));
        print_message("%s: max |ours - PyTorch| = %.3g\n", sources[s], worst);
        if (worst > 1e-5) fail_msg("%s: max |ours - PyTorch| = %g", sources[s], worst);
        ot_tensor_free(&y);
        ot_model_free(m);
    }
    /* the zeroed architecture itself is far off: the comparison can fail */
    ot_model *zero = load_model(fixture("cnn_zero.onnx"));
    ot_tensor y = ts_run(zero, 1, &input, 0);
    double worst = 0;
    for (int64_t i = 0; i < ot_tensor_numel(&y); i++)
        worst = fmax(worst, fabs((double)((float *)y.data)[i] - ((float *)expected.data)[i]));
    assert_true(worst > 1e-3);
    ot_tensor_free(&y);
    ot_model_free(zero);
    ot_tensor_free(&input);
    ot_tensor_free(&expected);
}

/* onnx -> npz / safetensors -> --arch zeroed onnx -> saved and reloaded: identical bytes. */
static void round_trips_bit_exact(void **state) {
    (void)state;
    const char *dir = ts_temp_dir();
    ot_model *original = load_model(fixture("cnn.onnx"));
    ot_weights exported;
    assert_int_equal(ot_weights_from_model(original, &exported), OT_OK);
    const ot_weights_format formats[] = {OT_WEIGHTS_NPZ, OT_WEIGHTS_SAFETENSORS};
    const char *files[] = {"w.npz", "w.safetensors"};
    for (int f = 0; f < 2; f++) {
        char path[512], onnx_path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        snprintf(onnx_path, sizeof onnx_path, "%s/%s.onnx", dir, files[f]);
        assert_int_equal(ot_weights_save(path, formats[f], &exported, 0), OT_OK);
        ot_weights back;
        assert_int_equal(ot_weights_load(NULL, path, &back), OT_OK);
        assert_int_equal(back.format, formats[f]);
        ot_model *m = load_model(fixture("cnn_zero.onnx"));
        ot_match_report r;
        ot_match_options strict = {NULL, 1};
        assert_int_equal(ot_weights_apply(m, &back, path, &strict, &r), OT_OK);
        for (int i = 0; i < r.n_matched; i++) assert_int_equal(r.matched[i].how, OT_MATCH_EXACT);
        assert_int_equal(r.n_unmatched_sources, 0);
        ot_match_report_free(&r);
        assert_int_equal(ot_onnx_save(m, onnx_path), OT_OK);
        ot_model *reloaded = load_model(onnx_path);
        assert_same_initializers(reloaded, original, files[f]);
        ot_model_free(reloaded);
        ot_model_free(m);
        ot_weights_free(&back);
    }
    ot_weights_free(&exported);
    ot_model_free(original);
}

/* The CLI next to this test's build folder (tests/test_x -> ../onnxtrain). */
static const char *cli_path(void) {
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) fail_msg("cannot find this executable");
    path[n] = 0;
    for (int up = 0; up < 2; up++) *strrchr(path, '/') = 0;
    strcat(path, "/onnxtrain");
    if (access(path, X_OK) != 0) fail_msg("%s not found: build the onnxtrain target", path);
    return path;
}

/* Runs the CLI with stdout/stderr captured; returns its exit code. */
static int run_cli(const char *const *args, int n, char *out, size_t out_size, char *err,
                   size_t err_size) {
    const char *dir = ts_temp_dir();
    char out_path[512], err_path[512];
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    char *argv[32];
    argv[0] = (char *)cli_path();
    for (int i = 0; i < n; i++) argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    const char *paths[2] = {out_path, err_path};
    char *bufs[2] = {out, err};
    size_t sizes[2] = {out_size, err_size};
    for (int k = 0; k < 2; k++) {
        unsigned char *data;
        size_t size;
        assert_int_equal(oti_read_file(paths[k], 0, &data, &size), OT_OK);
        snprintf(bufs[k], sizes[k], "%.*s", (int)size, (const char *)data);
        free(data);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void assert_file_is(const char *path, const char *content) {
    unsigned char *data;
    size_t size;
    assert_int_equal(oti_read_file(path, 0, &data, &size), OT_OK);
    assert_int_equal(size, strlen(content));
    assert_memory_equal(data, content, size);
    free(data);
}

/* Each hostile input: exit 1, the message names the file, the output keeps its old bytes. */
static void cli_hostile_inputs_leave_output(void **state) {
    (void)state;
    const char *hostile[] = {"truncated.npz", "truncated.pt", "st_header_past_end.safetensors",
                             "st_offsets_past_end.safetensors", "st_overlap.safetensors",
                             "st_gap.safetensors", "st_shape_mismatch.safetensors",
                             "st_bad_json.safetensors", "pwned.pt", "pwned_eval.pt",
                             "bad_view.pt", "short_storage.pt", "not_keras.h5"};
    const char *dir = ts_temp_dir();
    char out_onnx[512], out_npz[512];
    snprintf(out_onnx, sizeof out_onnx, "%s/out.onnx", dir);
    snprintf(out_npz, sizeof out_npz, "%s/out.npz", dir);
    assert_int_equal(oti_write_file_atomic(out_onnx, "previous", 8), OT_OK);
    assert_int_equal(oti_write_file_atomic(out_npz, "previous", 8), OT_OK);
    unlink("/tmp/onnxtrain_pwned");
    for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
        char out[8192], err[8192];
        const char *fill[] = {"convert", fixture(hostile[h]), "--arch", fixture("cnn_zero.onnx"),
                              "-o", out_onnx, "--strict"};
        assert_int_equal(run_cli(fill, 7, out, sizeof out, err, sizeof err), 1);
        if (!strstr(err, hostile[h])) fail_msg("%s: stderr '%s' does not name it", hostile[h], err);
        assert_file_is(out_onnx, "previous");
        const char *export_args[] = {"convert", fixture(hostile[h]), "-o", out_npz};
        assert_int_equal(run_cli(export_args, 4, out, sizeof out, err, sizeof err), 1);
        if (!strstr(err, hostile[h])) fail_msg("%s: stderr '%s' does not name it", hostile[h], err);
        assert_file_is(out_npz, "previous");
    }
    assert_int_not_equal(access("/tmp/onnxtrain_pwned", F_OK), 0);
    /* no temporary files left next to the outputs */
    int entries = 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_int_equal(fscanf(p, "%d", &entries), 1);
    pclose(p);
    assert_int_equal(entries, 2);
}

/* --strict with weights that fill nothing: exit 1, the report on stdout, output untouched. */
static void cli_strict_failure(void **state) {
    (void)state;
    char out_onnx[512], out[16384], err[8192];
    snprintf(out_onnx, sizeof out_onnx, "%s/out.onnx", ts_temp_dir());
    assert_int_equal(oti_write_file_atomic(out_onnx, "previous", 8), OT_OK);
    const char *args[] = {"convert", fixture("views.pt"), "--arch", fixture("cnn_zero.onnx"),
                          "-o", out_onnx, "--strict"};
    assert_int_equal(run_cli(args, 7, out, sizeof out, err, sizeof err), 1);
    assert_non_null(strstr(out, "ONNX parameters not filled (10):"));
    assert_non_null(strstr(err, "strict: 10 of 10 ONNX parameters were not filled"));
    assert_file_is(out_onnx, "previous");
    /* without --strict the same conversion succeeds and says what it did */
    const char *loose[] = {"convert", fixture("cnn_keras.h5"), "--arch", fixture("cnn_zero.onnx"),
                           "-o", out_onnx};
    assert_int_equal(run_cli(loose, 6, out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "conv1/kernel:0 -> conv1.weight [3,3,1,4] float32 -> [4,1,3,3] "
                                "float32 (layer + role, HWIO->OIHW)"));
    assert_non_null(strstr(out, "filled 10 of 10 ONNX parameters"));
}

static void cli_usage_errors(void **state) {
    (void)state;
    char out[8192], err[8192];
    const char *d = ts_temp_dir();
    char o1[512], o2[512];
    snprintf(o1, sizeof o1, "%s/x.bin", d);
    snprintf(o2, sizeof o2, "%s/x.onnx", d);
    const char *no_format[] = {"convert", fixture("cnn.onnx"), "-o", o1};
    assert_int_equal(run_cli(no_format, 4, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "cannot tell the output format"));
    const char *map_alone[] = {"convert", fixture("cnn.onnx"), "-o", o2, "--map", "m.txt"};
    assert_int_equal(run_cli(map_alone, 6, out, sizeof out, err, sizeof err), 2);
    const char *needs_arch[] = {"convert", fixture("cnn_state.pt"), "-o", o2};
    assert_int_equal(run_cli(needs_arch, 4, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(err, "needs --arch"));
    const char *bad_format[] = {"convert", fixture("cnn.onnx"), "-o", o1, "--format", "pickle"};
    assert_int_equal(run_cli(bad_format, 6, out, sizeof out, err, sizeof err), 2);
    /* --format overrides the extension */
    const char *forced[] = {"convert", fixture("cnn.onnx"), "-o", o1, "--format", "safetensors"};
    assert_int_equal(run_cli(forced, 6, out, sizeof out, err, sizeof err), 0);
    ot_weights w;
    assert_int_equal(ot_weights_load(NULL, o1, &w), OT_OK);
    assert_int_equal(w.format, OT_WEIGHTS_SAFETENSORS);
    assert_int_equal(w.count, 10);
    ot_weights_free(&w);
    /* ONNX -> ONNX re-export still works, and weights -> weights without --arch */
    const char *reexport[] = {"convert", fixture("cnn.onnx"), "-o", o2};
    assert_int_equal(run_cli(reexport, 4, out, sizeof out, err, sizeof err), 0);
    ot_model *again = load_model(o2), *reference = load_model(fixture("cnn.onnx"));
    assert_same_initializers(again, reference, "re-export");
    ot_model_free(again);
    ot_model_free(reference);
    const char *pt_to_st[] = {"convert", fixture("cnn_state.pt"), "-o", o1, "--format", "safetensors"};
    assert_int_equal(run_cli(pt_to_st, 6, out, sizeof out, err, sizeof err), 0);
    assert_int_equal(ot_weights_load(NULL, o1, &w), OT_OK);
    assert_int_equal(w.count, 11);
    ot_weights_free(&w);
    const char *help[] = {"convert", "--help"};
    assert_int_equal(run_cli(help, 2, out, sizeof out, err, sizeof err), 0);
    const char *documented[] = {"--output", "--arch", "--map", "--strict", "--format", "--compress"};
    for (int i = 0; i < 6; i++) assert_non_null(strstr(out, documented[i]));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fills_pytorch_weights),
        cmocka_unit_test(engine_matches_pytorch),
        cmocka_unit_test(round_trips_bit_exact),
        cmocka_unit_test(cli_hostile_inputs_leave_output),
        cmocka_unit_test(cli_strict_failure),
        cmocka_unit_test(cli_usage_errors),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
