/* CLI: `mer convert-pth` (PyTorch state_dict checkpoint -> HDF5 weights, without Python). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/models/resnet18.h"
#include "io/pth.h"
#include "runner/cli/commands.h"

static void convert_pth_help(void) {
    printf("usage: mer convert-pth [--list] [--model resnet18] MODEL.pth [OUT.h5]\n\n"
           "Convert a PyTorch checkpoint written by torch.save(model.state_dict(), ...) (torch >= 1.6 zip format)\n"
           "to mer's HDF5 weights layout without Python: one float32 dataset per state_dict key, PyTorch shapes\n"
           "(conv weights OIHW), a leading 'module.' dropped. Integer buffers (num_batches_tracked) are skipped\n"
           "with a notice; float64/float16 tensors, big-endian and legacy (torch < 1.6) files are refused.\n"
           "The pickle inside is never executed: only the opcodes and globals of a tensor state_dict are\n"
           "accepted, anything else is refused with its name and byte offset.\n\n"
           "  --list            print key, dtype and shape of every tensor instead of converting\n"
           "  --model resnet18  warn about keys missing from or unexpected in mer's ResNet-18 (fc.* optional),\n"
           "                    and about shapes that differ\n"
           "  -h, --help\n\n"
           "Example (torchvision's ImageNet weights, downloaded yourself):\n"
           "  mer convert-pth --model resnet18 resnet18-f37072fd.pth resnet18.h5\n");
}

static void print_shape(FILE *o, int ndim, const int64_t *shape) {
    fprintf(o, "(");
    for (int d = 0; d < ndim; d++) fprintf(o, "%s%lld", d ? ", " : "", (long long)shape[d]);
    fprintf(o, ndim == 1 ? ",)" : ")");
}

/* Warnings against mer's ResNet-18 tensor table; the class count follows the file's fc.weight. */
static int check_resnet18(const pth_file *pf, mer_err *err) {
    int classes = 0;
    for (size_t i = 0; i < pf->n_tensors; i++)
        if (!strcmp(pth_h5_name(pf->tensors[i].name), "fc.weight") && pf->tensors[i].ndim == 2)
            classes = (int)pf->tensors[i].shape[0];
    resnet18 *m;
    if (resnet18_create(&m, classes, err) < 0) return -1;
    const nn_table *tab = resnet18_table(m);
    int warnings = 0;
    for (size_t i = 0; i < pf->n_tensors; i++) {
        const pth_tensor *t = &pf->tensors[i];
        const char *name = pth_h5_name(t->name);
        if (t->dtype != PTH_FLOAT32) continue;
        int k = nn_table_find(tab, name);
        if (k < 0) {
            fprintf(stderr, "mer convert-pth: warning: unexpected key '%s' (not in mer's ResNet-18)\n", name);
            warnings++;
            continue;
        }
        int same = t->ndim == tab->t[k].ndim;
        for (int d = 0; same && d < t->ndim; d++) same = (size_t)t->shape[d] == tab->t[k].dims[d];
        if (!same) {
            fprintf(stderr, "mer convert-pth: warning: '%s' has shape ", name);
            print_shape(stderr, t->ndim, t->shape);
            fprintf(stderr, ", mer's ResNet-18 expects %zu values in %d dimensions\n", tab->t[k].numel, tab->t[k].ndim);
            warnings++;
        }
    }
    for (int k = 0; k < tab->n; k++) {
        int found = 0;
        for (size_t i = 0; i < pf->n_tensors && !found; i++)
            found = pf->tensors[i].dtype == PTH_FLOAT32 && !strcmp(pth_h5_name(pf->tensors[i].name), tab->t[k].name);
        if (!found) {
            fprintf(stderr, "mer convert-pth: warning: missing key '%s' (mer's ResNet-18 needs it)\n", tab->t[k].name);
            warnings++;
        }
    }
    if (!warnings) printf("all %d tensors of mer's ResNet-18%s are present with their shapes\n", tab->n,
                          classes ? " with fc" : " (no fc)");
    resnet18_free(m);
    return 0;
}

int cmd_convert_pth(int argc, char **argv) {
    static const struct option opts[] = {{"list", no_argument, 0, 'l'}, {"model", required_argument, 0, 'm'},
                                          {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int list = 0, c;
    const char *model = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'l') list = 1;
        else if (c == 'm') model = optarg;
        else if (c == 'h') {
            convert_pth_help();
            return 0;
        } else return usage_error("convert-pth", "unknown option");
    }
    if (model && strcmp(model, "resnet18")) return usage_error("convert-pth", "--model knows only resnet18");
    if (argc - optind != (list ? 1 : 2))
        return usage_error("convert-pth", list ? "--list takes one MODEL.pth" : "expected MODEL.pth OUT.h5");
    mer_err err = {0};
    pth_file pf;
    if (pth_open(&pf, argv[optind], &err) < 0) {
        fprintf(stderr, "mer convert-pth: %s\n", err.msg);
        return 1;
    }
    int rc = 0;
    if (list) {
        for (size_t i = 0; i < pf.n_tensors; i++) {
            printf("%s %s ", pf.tensors[i].name, pth_dtype_name(pf.tensors[i].dtype));
            print_shape(stdout, pf.tensors[i].ndim, pf.tensors[i].shape);
            printf("\n");
        }
    } else {
        for (size_t i = 0; i < pf.n_tensors; i++)
            if (pf.tensors[i].dtype != PTH_FLOAT32 && pf.tensors[i].dtype != PTH_FLOAT64 &&
                pf.tensors[i].dtype != PTH_FLOAT16 && pf.tensors[i].dtype != PTH_BFLOAT16)
                fprintf(stderr, "mer convert-pth: notice: skipping '%s' (%s; mer's weights are float32)\n",
                        pf.tensors[i].name, pth_dtype_name(pf.tensors[i].dtype));
        size_t nw, nv, ns;
        if (pth_write_h5(&pf, argv[optind + 1], &nw, &nv, &ns, &err) < 0) rc = 1;
        else printf("%s: %zu float32 tensors (%zu values), %zu skipped\n", argv[optind + 1], nw, nv, ns);
    }
    if (rc == 0 && model && check_resnet18(&pf, &err) < 0) rc = 1;
    if (rc) fprintf(stderr, "mer convert-pth: %s\n", err.msg);
    pth_close(&pf);
    return rc;
}
