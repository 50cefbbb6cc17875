/* onnxtrain convert: re-export an ONNX model, fill an ONNX architecture with weights from
 * another framework's file (--arch), or write a model's weights to .npz / safetensors. */
#include <string.h>
#include <stdio.h>

#include "args.h"
#include "commands.h"
#include "model_load.h"
#include "core/util.h"
#include "core/file_io.h"
#include "onnxtrain/caffe_io.h"
#include "onnxtrain/onnx_io.h"
#include "onnxtrain/weights.h"

static const cli_flag flags[] = {
    {"output", 'o', "OUT", "the file to write (written atomically; untouched on failure)"},
    {"arch", 0, "ARCH.onnx", "fill this model's parameters from IN (a weights file) and write "
                             "the model to OUT"},
    {"map", 0, "MAP", "with --arch: lines 'source_name = onnx_name' that override matching"},
    {"strict", 0, NULL, "with --arch: fail unless every ONNX parameter was filled"},
    {"format", 0, "FMT", "output format: onnx, npz, safetensors or npy (default: OUT's "
                         "extension)"},
    {"compress", 0, NULL, "deflate the members of an .npz (like numpy.savez_compressed)"},
    CLI_CAFFE_WEIGHTS_FLAG,
    CLI_MAX_MEMORY_FLAG,
};

static const cli_command command = {
    "convert", "IN -o OUT [--arch ARCH.onnx] [--map MAP] [--strict] [--format FMT]",
    "Moves models and weights between formats:\n"
    "  convert IN.onnx -o OUT.onnx                re-export (constants folded)\n"
    "  convert WEIGHTS --arch ARCH.onnx -o OUT.onnx\n"
    "                                             fill ARCH's parameters from WEIGHTS\n"
    "  convert MODEL.onnx -o OUT.npz|OUT.safetensors\n"
    "                                             write every initializer under its name\n"
    "  convert WEIGHTS -o OUT.npz|OUT.safetensors change a weights file's format\n"
    "  convert NET.prototxt --weights NET.caffemodel -o OUT.onnx\n"
    "                                             convert a Caffe model",
    flags, OT_COUNT(flags), 1, 1,
    "WEIGHTS may be .npy, .npz, safetensors, a PyTorch torch.save file (.pt/.pth/.bin; a\n"
    "state_dict, or one under \"state_dict\" or \"model\"), a Keras 2 .h5, or an .onnx model;\n"
    "the format is recognised by content. PyTorch pickles are read by a restricted reader that\n"
    "refuses any global besides tensors, storages and OrderedDict: nothing is ever run.\n"
    "Matching, in this order: --map lines; exact names; names with separators (. / : _)\n"
    "unified and 'module.'/'model.' prefixes and ':0' suffixes dropped; Keras layer name +\n"
    "role (kernel, bias, gamma, beta, moving_mean, moving_variance), with kernels moved from\n"
    "HWIO to OIHW and Dense kernels transposed for Gemm(transB=1); then model order for\n"
    "tensors of matching shape. The report (stdout) lists every tensor matched and how, what\n"
    "was left on either side, and shape conflicts (never copied)."};

static int usage_error(cli_args *args, const char *message) {
    cli_error(args, "%s (see onnxtrain convert --help)", message);
    cli_free(args);
    return 2;
}

/* WEIGHTS --arch ARCH -o OUT.onnx */
static int fill_architecture(cli_args *args, ot_context *ctx, const char *in, const char *arch,
                             const char *out) {
    ot_weights w = {0};
    ot_model *m = NULL;
    ot_match_report report = {0};
    ot_match_options options = {cli_get(args, "map"), cli_has(args, "strict")};
    int rc = 0;
    if (ot_weights_load(ctx, in, &w) != OT_OK || ot_onnx_load_mode(ctx, arch, OT_LOAD_STRUCTURE_ONLY, &m) != OT_OK ||
        oti_check_writable(out) != OT_OK) {
        rc = cli_fail(args);
    } else {
        ot_status status = ot_weights_apply(m, &w, in, &options, &report);
        if (report.source_path) ot_match_report_print(&report, stdout);
        fflush(stdout);
        if (status != OT_OK || ot_onnx_save(m, out) != OT_OK) rc = cli_fail(args);
        else printf("wrote %s\n", out);
    }
    ot_match_report_free(&report);
    ot_model_free(m);
    ot_weights_free(&w);
    return rc;
}

/* MODEL.onnx or WEIGHTS -o OUT.npz|OUT.safetensors|OUT.npy */
static int export_weights(cli_args *args, ot_context *ctx, const char *in, const char *out,
                          ot_weights_format format) {
    ot_weights w = {0};
    int rc = 0;
    if (ot_weights_load(ctx, in, &w) != OT_OK ||
        ot_weights_save(out, format, &w, cli_has(args, "compress")) != OT_OK)
        rc = cli_fail(args);
    else
        printf("wrote %d tensors to %s (%s)\n", w.count, out, ot_weights_format_name(format));
    ot_weights_free(&w);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    cli_args args;
    int parsed = cli_parse(&command, argc, argv, &args);
    if (parsed) {
        cli_free(&args);
        return parsed == 1 ? 0 : 2;
    }
    const char *in = args.positional[0], *out = cli_get(&args, "output");
    const char *arch = cli_get(&args, "arch"), *format_name = cli_get(&args, "format");
    if (!out) return usage_error(&args, "-o OUT is required");
    ot_weights_format format = ot_weights_format_from_extension(out);
    if (format_name && !ot_weights_format_from_name(format_name, &format))
        return usage_error(&args, "--format must be onnx, npz, safetensors or npy");
    if (arch && format != OT_WEIGHTS_ONNX && (format_name || format != OT_WEIGHTS_UNKNOWN))
        return usage_error(&args, "with --arch the output is an ONNX model (-o OUT.onnx)");
    if (!arch && (cli_has(&args, "map") || cli_has(&args, "strict")))
        return usage_error(&args, "--map and --strict need --arch ARCH.onnx");
    if (!arch && format == OT_WEIGHTS_UNKNOWN)
        return usage_error(&args, "cannot tell the output format from its name: use .onnx, .npz, "
                                  ".safetensors or .npy, or --format");
    if (cli_has(&args, "weights") && !ot_caffe_is_prototxt(in))
        return usage_error(&args, "--weights goes with a Caffe network definition (IN.prototxt)");
    if (ot_caffe_is_prototxt(in) && (arch || format != OT_WEIGHTS_ONNX))
        return usage_error(&args, "a Caffe NET.prototxt converts to an ONNX model: -o OUT.onnx, without --arch");
    if (cli_has(&args, "compress") && format != OT_WEIGHTS_NPZ)
        return usage_error(&args, "--compress applies to .npz output only");
    ot_context *ctx;
    if (!cli_context_create(&args, &ctx)) {
        cli_free(&args);
        return 2;
    }
    int rc;
    if (arch) {
        rc = fill_architecture(&args, ctx, in, arch, out);
    } else if (format == OT_WEIGHTS_ONNX) {
        /* ONNX -> ONNX: import and export (any input name, as before). */
        ot_weights_format in_format = OT_WEIGHTS_UNKNOWN;
        if (!ot_caffe_is_prototxt(in) && ot_weights_format_from_extension(in) != OT_WEIGHTS_ONNX &&
            ot_weights_detect(in, &in_format) == OT_OK && in_format != OT_WEIGHTS_ONNX) {
            cli_error(&args, "%s is a %s weights file: an ONNX model needs --arch ARCH.onnx to "
                      "give its graph", in, ot_weights_format_name(in_format));
            ot_context_free(ctx);
            cli_free(&args);
            return 2;
        }
        ot_model *m = NULL;
        rc = 0;
        if (cli_load_model(&args, ctx, in, &m, &rc) && ot_onnx_save(m, out) != OT_OK) rc = cli_fail(&args);
        ot_model_free(m);
    } else {
        rc = export_weights(&args, ctx, in, out, format);
    }
    ot_context_free(ctx);
    cli_free(&args);
    return rc;
}
