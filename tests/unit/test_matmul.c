/* Gemm, MatMul and Einsum: forward values and input gradients against PyTorch, gradient
 * checks by central differences for every Gemm flag combination and bias shape, for MatMul's
 * 1-D and broadcast batch cases and for every Einsum case (attention, bilinear, ellipsis,
 * implicit output, diagonals, the backend tests' equations), and clear errors.
 *
 * Reference values: tests/fixtures/conv/<case>_*.npy from tools/fixtures/gen_conv_fixtures.py
 * and tests/fixtures/einsum/<case>_*.npy from tools/fixtures/gen_einsum_fixtures.py (torch
 * 1.13 in float64 on the float32 inputs; d<name> = d sum(y * dy) / d input). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "formats/npy.h"
#include "test_support.h"
#include "onnxtrain/graph.h"

/* tests/fixtures/<dir>/<case>_<name>.npy */
static ot_tensor load_fixture(const char *dir, const char *case_name, const char *name) {
    char file[256];
    snprintf(file, sizeof file, "%s/%s_%s.npy", dir, case_name, name);
    ot_tensor t;
    if (oti_npy_load(NULL, ts_fixture(file), &t) != OT_OK) fail_msg("%s: %s", file, ot_last_error());
    return t;
}

static void assert_close(const char *what, const char *case_name, const float *got,
                         const ot_tensor *want) {
    const float *w = want->data;
    for (int64_t i = 0; i < ot_tensor_numel(want); i++)
        if (fabsf(got[i] - w[i]) > 1e-5f + 1e-4f * fabsf(w[i]))
            fail_msg("%s %s[%lld]: got %.7g, torch %.7g", case_name, what, (long long)i, got[i], w[i]);
}

/* Runs `op` on the case's inputs in a training plan where every input is trained; checks y
 * and, after backward from the case's dy, every input's gradient against the fixtures. */
static void check_against_torch(const char *op, int opset, const char *dir, const char *case_name,
                                int n_inputs, const char *const *names, int n_attrs, const ot_attr *attrs) {
    ot_tensor inputs[3], got[4];
    const ot_tensor *ptrs[3];
    for (int k = 0; k < n_inputs; k++) {
        inputs[k] = load_fixture(dir, case_name, names[k]);
        ptrs[k] = &inputs[k];
    }
    ot_tensor want_y = load_fixture(dir, case_name, "y"), dy = load_fixture(dir, case_name, "dy");
    ts_forward_backward(op, opset, n_inputs, ptrs, n_attrs, attrs, &dy, got);
    const ot_tensor *y = &got[0];
    if (!ot_tensor_same_shape(y, &want_y)) {
        char a[64], b[64];
        fail_msg("%s: shape %s, torch %s", case_name, ot_shape_string(y->ndim, y->dims, a, sizeof a),
                 ot_shape_string(want_y.ndim, want_y.dims, b, sizeof b));
    }
    assert_close("y", case_name, y->data, &want_y);
    for (int k = 0; k < n_inputs; k++) {
        char grad_name[16];
        snprintf(grad_name, sizeof grad_name, "d%s", names[k]);
        ot_tensor want = load_fixture(dir, case_name, grad_name);
        assert_close(grad_name, case_name, got[1 + k].data, &want);
        ot_tensor_free(&want);
        ot_tensor_free(&inputs[k]);
    }
    ts_free_tensors(got, 1 + n_inputs);
    ot_tensor_free(&want_y);
    ot_tensor_free(&dy);
}

static void free_attrs(int n, ot_attr *attrs) {
    for (int i = 0; i < n; i++) ot_attr_free(&attrs[i]);
}

static void gemm_matches_torch(void **state) {
    (void)state;
    static const char *const names[3] = {"a", "b", "c"};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            char case_name[16];
            snprintf(case_name, sizeof case_name, "gemm_t%d%d", ta, tb);
            ot_attr attrs[4] = {ts_attr_float("alpha", 0.5f), ts_attr_float("beta", 2.0f),
                                ts_attr_int("transA", ta), ts_attr_int("transB", tb)};
            check_against_torch("Gemm", 13, "conv", case_name, 3, names, 4, attrs);
            free_attrs(4, attrs);
        }
    check_against_torch("Gemm", 13, "conv", "gemm_col_bias", 3, names, 0, NULL);
}

static void matmul_matches_torch(void **state) {
    (void)state;
    static const char *const names[2] = {"a", "b"};
    static const char *const cases[] = {"matmul_2d", "matmul_bcast", "matmul_shared_b",
                                        "matmul_1d_left", "matmul_1d_right", "matmul_1d_both"};
    for (int i = 0; i < OT_COUNT(cases); i++) check_against_torch("MatMul", 13, "conv", cases[i], 2, names, 0, NULL);
}

/* Gradient check of Gemm with A (M, K) [or (K, M)], B (K, N) [or (N, K)] and C of c_dims. */
static void gemm_gradcheck(int opset, int ta, int tb, int c_ndim, const int64_t *c_dims, int seed) {
    ot_rng rng;
    ot_rng_seed(&rng, (uint64_t)seed);
    int64_t m = 3, k = 4, n = 2;
    int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? n : k, tb ? k : n};
    ot_tensor a = ts_random(&rng, 2, ad, -1.0f, 1.0f), b = ts_random(&rng, 2, bd, -1.0f, 1.0f);
    ot_tensor c = {0};
    if (c_ndim >= 0) c = ts_random(&rng, c_ndim, c_dims, -1.0f, 1.0f);
    const ot_tensor *inputs[3] = {&a, &b, &c};
    ot_attr attrs[4] = {ts_attr_float("alpha", 0.7f), ts_attr_float("beta", -1.5f),
                        ts_attr_int("transA", ta), ts_attr_int("transB", tb)};
    ts_gradcheck("Gemm", opset, c_ndim >= 0 ? 3 : 2, inputs, 7, 4, attrs, 0, 1e-2, 1e-2);
    free_attrs(4, attrs);
    ot_tensor_free(&a);
    ot_tensor_free(&b);
    if (c_ndim >= 0) ot_tensor_free(&c);
}

static void gemm_gradients(void **state) {
    (void)state;
    int64_t full[2] = {3, 2}, row[1] = {2}, col[2] = {3, 1}, one[2] = {1, 1};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            gemm_gradcheck(13, ta, tb, 2, full, 10 + 2 * ta + tb);
            gemm_gradcheck(13, ta, tb, 1, row, 20 + 2 * ta + tb);
            gemm_gradcheck(13, ta, tb, 2, col, 30 + 2 * ta + tb);
            gemm_gradcheck(13, ta, tb, 2, one, 40 + 2 * ta + tb);
            gemm_gradcheck(13, ta, tb, 0, NULL, 50 + 2 * ta + tb); /* scalar C */
            gemm_gradcheck(13, ta, tb, -1, NULL, 60 + 2 * ta + tb); /* no C */
        }
    gemm_gradcheck(9, 0, 1, 1, row, 70);
}

static void matmul_gradcheck(int a_ndim, const int64_t *a_dims, int b_ndim, const int64_t *b_dims,
                             int seed) {
    ot_rng rng;
    ot_rng_seed(&rng, (uint64_t)seed);
    ot_tensor a = ts_random(&rng, a_ndim, a_dims, -1.0f, 1.0f);
    ot_tensor b = ts_random(&rng, b_ndim, b_dims, -1.0f, 1.0f);
    const ot_tensor *inputs[2] = {&a, &b};
    ts_gradcheck("MatMul", 13, 2, inputs, 3, 0, NULL, 0, 1e-2, 1e-2);
    ot_tensor_free(&a);
    ot_tensor_free(&b);
}

static void matmul_gradients(void **state) {
    (void)state;
    int64_t a2[2] = {3, 4}, b2[2] = {4, 2};
    matmul_gradcheck(2, a2, 2, b2, 1);
    int64_t a4[4] = {2, 1, 3, 4}, b3[3] = {3, 4, 2}; /* both broadcast: (2, 3, 3, 2) */
    matmul_gradcheck(4, a4, 3, b3, 2);
    int64_t a3[3] = {2, 3, 4}; /* B shared by the batch */
    matmul_gradcheck(3, a3, 2, b2, 3);
    int64_t b13[3] = {1, 4, 2}; /* B's batch dim of 1 broadcast */
    matmul_gradcheck(3, a3, 3, b13, 4);
    matmul_gradcheck(2, a2, 3, b3, 5); /* A shared by B's batch */
    int64_t v[1] = {4};
    matmul_gradcheck(1, v, 3, b3, 6);
    matmul_gradcheck(3, a3, 1, v, 7);
    matmul_gradcheck(1, v, 1, v, 8);
}

/* Opset 6 Gemm (pytorch's Linear export): broadcast = 1 lets C be (N). */
static void gemm_opset6_broadcast(void **state) {
    (void)state;
    int64_t ad[2] = {2, 3}, bd[2] = {4, 3}, cd[1] = {4};
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1}, cv[4] = {10, 20, 30, 40};
    ot_tensor a = ts_float(2, ad, av), b = ts_float(2, bd, bv), c = ts_float(1, cd, cv);
    const ot_tensor *inputs[3] = {&a, &b, &c};
    int as_input[3] = {1, 0, 0};
    ot_attr attrs[2] = {ts_attr_int("broadcast", 1), ts_attr_int("transB", 1)};
    ot_model *m = ts_single_node("", "Gemm", 6, 3, inputs, as_input, 1, 2, attrs);
    ot_tensor y = ts_run(m, 1, &a, 0);
    static const float want[8] = {11, 22, 33, 46, 14, 25, 36, 55}; /* A @ B^T + C */
    for (int i = 0; i < 8; i++) assert_float_equal(((float *)y.data)[i], want[i], 0.0);
    ot_tensor_free(&y);
    ot_model_free(m);
    free_attrs(2, attrs);
    ot_tensor_free(&a);
    ot_tensor_free(&b);
    ot_tensor_free(&c);
}

/* Building and planning `op` on the inputs must fail naming the node and saying `needle`. */
static void expect_error(const char *op, int opset, int n_inputs, const ot_tensor *const *inputs,
                         int n_attrs, const ot_attr *attrs, const char *needle) {
    ot_model *m = ot_model_new();
    assert_int_equal(ot_model_set_opset(m, "", opset), OT_OK);
    const char *in_names[3] = {"x0", "x1", "x2"}, *out_names[1] = {"y0"};
    for (int k = 0; k < n_inputs; k++) {
        ot_tensor copy;
        assert_int_equal(ot_tensor_copy(&copy, inputs[k], in_names[k]), OT_OK);
        assert_int_equal(ot_model_add_initializer(m, in_names[k], &copy, NULL), OT_OK);
    }
    int li;
    assert_int_equal(ot_model_add_layer(m, "node", op, "", n_inputs, in_names, 1, out_names, &li), OT_OK);
    for (int a = 0; a < n_attrs; a++) assert_int_equal(ot_layer_add_attr(&m->layers[li], &attrs[a]), OT_OK);
    m->outputs = ts_calloc(1, sizeof(int));
    m->outputs[m->n_outputs++] = ot_model_find_value(m, "y0");
    ot_status status = ot_graph_check(m);
    if (status == OT_OK) status = ot_graph_resolve(m);
    if (status == OT_OK) {
        ot_plan *plan;
        status = ot_plan_create(m, NULL, 0, NULL, NULL, &plan);
        if (status == OT_OK) ot_plan_free(plan);
    }
    if (status == OT_OK) fail_msg("%s: expected an error containing '%s'", op, needle);
    const char *message = ot_last_error();
    if (status != OT_ERR_INVALID || !strstr(message, "'node'") || !strstr(message, needle))
        fail_msg("%s: error %s '%s' should be invalid, name the node and say '%s'", op,
                 ot_status_name(status), message, needle);
    ot_model_free(m);
}

static void bad_shapes_and_attributes(void **state) {
    (void)state;
    int64_t d34[2] = {3, 4}, d54[2] = {5, 4}, d45[2] = {4, 5}, d2[1] = {2}, d35[2] = {3, 5};
    ot_tensor a = ts_tensor(2, d34), b_bad = ts_tensor(2, d54), b = ts_tensor(2, d45);
    ot_tensor c_bad = ts_tensor(1, d2), c_full = ts_tensor(2, d35);
    const ot_tensor *inner[2] = {&a, &b_bad};
    expect_error("Gemm", 13, 2, inner, 0, NULL, "inner dims differ");
    expect_error("MatMul", 13, 2, inner, 0, NULL, "do not multiply");
    const ot_tensor *with_bad_c[3] = {&a, &b, &c_bad};
    expect_error("Gemm", 13, 3, with_bad_c, 0, NULL, "does not broadcast to [3,5]");
    const ot_tensor *no_c[2] = {&a, &b};
    expect_error("Gemm", 9, 2, no_c, 0, NULL, "input C is required before opset 11");
    ot_attr trans = ts_attr_int("transA", 2);
    const ot_tensor *good[3] = {&a, &b, &c_full};
    expect_error("Gemm", 13, 3, good, 1, &trans, "transA and transB must be 0 or 1");
    ot_attr_free(&trans);
    int64_t d5[1] = {5};
    ot_tensor c_row = ts_tensor(1, d5);
    const ot_tensor *row_c[3] = {&a, &b, &c_row};
    expect_error("Gemm", 6, 3, row_c, 0, NULL, "broadcast is 0");
    int64_t batch_a[3] = {2, 3, 4}, batch_b[3] = {3, 4, 5};
    ot_tensor ba = ts_tensor(3, batch_a), bb = ts_tensor(3, batch_b);
    const ot_tensor *batches[2] = {&ba, &bb};
    expect_error("MatMul", 13, 2, batches, 0, NULL, "do not multiply");
    ot_tensor_free(&a);
    ot_tensor_free(&b_bad);
    ot_tensor_free(&b);
    ot_tensor_free(&c_bad);
    ot_tensor_free(&c_full);
    ot_tensor_free(&c_row);
    ot_tensor_free(&ba);
    ot_tensor_free(&bb);
}

/* Einsum ---------------------------------------------------------------------------------- */

/* The cases of tools/fixtures/gen_einsum_fixtures.py (keep the tables in step). */
static const struct {
    const char *name, *equation;
    int n_inputs;
} einsum_cases[] = {
    {"attention_scores", "bhqd,bhkd->bhqk", 2}, {"attention_values", "bhqk,bhkd->bhqd", 2},
    {"bilinear", "bi,oij,bj->bo", 3},           {"matmul", "ij,jk->ik", 2},
    {"dense", "bi,ij->bj", 2},                  {"dot", "i,i->", 2},
    {"ellipsis", "...ij,...jk->...ik", 2},      {"ellipsis_broadcast", "...ij,...jk->...ik", 2},
    {"implicit", "ij,jk", 2},                   {"diagonal", "ii->i", 1},
    {"trace_outer", "ii,j->j", 2},              {"backend_batch_diagonal", "...ii ->...i", 1},
    {"backend_batch_matmul", "bij, bjk -> bik", 2}, {"backend_inner_prod", "i,i", 2},
    {"backend_sum", "ij->i", 1},                {"backend_transpose", "ij->ji", 1},
};

/* Forward and every input gradient against torch.einsum (float64 on the float32 inputs). */
static void einsum_matches_torch(void **state) {
    (void)state;
    static const char *const names[3] = {"x0", "x1", "x2"};
    for (int i = 0; i < OT_COUNT(einsum_cases); i++) {
        ot_attr eq = ts_attr_string("equation", einsum_cases[i].equation);
        check_against_torch("Einsum", 12, "einsum", einsum_cases[i].name, einsum_cases[i].n_inputs, names, 1, &eq);
        ot_attr_free(&eq);
    }
}

/* Central differences for each case's shapes and equation (random inputs, every input
 * checked), plus a contraction that packs both operands (K not innermost, output permuted). */
static void einsum_gradients(void **state) {
    (void)state;
    static const char *const names[3] = {"x0", "x1", "x2"};
    ot_rng rng;
    ot_rng_seed(&rng, 12);
    for (int i = 0; i < OT_COUNT(einsum_cases); i++) {
        ot_tensor inputs[3];
        const ot_tensor *ptrs[3];
        for (int k = 0; k < einsum_cases[i].n_inputs; k++) {
            ot_tensor shape = load_fixture("einsum", einsum_cases[i].name, names[k]);
            inputs[k] = ts_random(&rng, shape.ndim, shape.dims, -1.0f, 1.0f);
            ptrs[k] = &inputs[k];
            ot_tensor_free(&shape);
        }
        ot_attr eq = ts_attr_string("equation", einsum_cases[i].equation);
        ts_gradcheck("Einsum", 12, einsum_cases[i].n_inputs, ptrs, 7, 1, &eq, 0, 1e-2, 1e-2);
        ot_attr_free(&eq);
        ts_free_tensors(inputs, einsum_cases[i].n_inputs);
    }
    int64_t da[3] = {4, 2, 3}, db[3] = {5, 4, 2};
    ot_tensor a = ts_random(&rng, 3, da, -1.0f, 1.0f), b = ts_random(&rng, 3, db, -1.0f, 1.0f);
    ot_attr eq = ts_attr_string("equation", "kbm,nkb->nbm");
    ts_gradcheck("Einsum", 12, 2, (const ot_tensor *[]){&a, &b}, 3, 1, &eq, 0, 1e-2, 1e-2);
    ot_attr_free(&eq);
    ts_free_tensors((ot_tensor[]){a, b}, 2);
}

static void einsum_errors(void **state) {
    (void)state;
    int64_t d34[2] = {3, 4}, d54[2] = {5, 4};
    ot_tensor a = ts_tensor(2, d34), b = ts_tensor(2, d54), i = ts_int64(1, (int64_t[]){1}, (int64_t[]){1});
    const ot_tensor *ab[2] = {&a, &b}, *aa[1] = {&a}, *ints[1] = {&i};
    struct {
        const char *equation, *needle;
        int n;
        const ot_tensor *const *in;
        ot_status code;
    } cases[] = {
        {"ij,jk->ik", "label 'j' is 5 in input 1, 4 elsewhere", 2, ab, OT_ERR_INVALID},
        {"ij->ik", "output label 'k' is in no input", 1, aa, OT_ERR_INVALID},
        {"ijk->i", "input 0 has rank 2", 1, aa, OT_ERR_INVALID},
        {"ij,jk->ik", "equation has 2 inputs, the node 1", 1, aa, OT_ERR_INVALID},
        {"i1->i", "character '1'", 1, aa, OT_ERR_INVALID},
        {"i..j->i", "one '...' per term", 1, aa, OT_ERR_INVALID},
        {"ij->ii", "output label 'i' is repeated", 1, aa, OT_ERR_INVALID},
        {"i->i", "must be float32", 1, ints, OT_ERR_INVALID},
    };
    for (int c = 0; c < OT_COUNT(cases); c++) {
        ot_attr eq = ts_attr_string("equation", cases[c].equation);
        ts_expect_node_error("Einsum", 12, cases[c].n, cases[c].in, NULL, 1, 1, &eq, 1, cases[c].code, cases[c].needle);
        ot_attr_free(&eq);
    }
    ts_expect_node_error("Einsum", 12, 1, aa, NULL, 1, 0, NULL, 1, OT_ERR_INVALID, "needs an 'equation'");
    ts_free_tensors((ot_tensor[]){a, b, i}, 3);
}

/* Det of a batch of 3x3 matrices (well conditioned): dX = dY * det * inverse^T. */
static void det_gradients(void **state) {
    (void)state;
    ot_rng rng;
    ot_rng_seed(&rng, 5);
    int64_t dims[3] = {2, 3, 3};
    ot_tensor x = ts_random(&rng, 3, dims, -1, 1);
    float *v = x.data;
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++) v[b * 9 + i * 4] += 2.0f; /* diagonally dominant */
    ts_gradcheck("Det", 11, 1, (const ot_tensor *[]){&x}, 1, 0, NULL, 0, 1e-3, 1e-2);
    ot_tensor_free(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_matches_torch),
        cmocka_unit_test(matmul_matches_torch),
        cmocka_unit_test(gemm_gradients),
        cmocka_unit_test(matmul_gradients),
        cmocka_unit_test(gemm_opset6_broadcast),
        cmocka_unit_test(bad_shapes_and_attributes),
        cmocka_unit_test(einsum_matches_torch),
        cmocka_unit_test(einsum_gradients),
        cmocka_unit_test(einsum_errors),
        cmocka_unit_test(det_gradients),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
