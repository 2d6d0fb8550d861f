/* auto_report.c - print which backend `auto` picks for each conv layer and pass, and why
 * (for `convkit summary` and `convkit train`). Does not choose anything itself: the
 * answers come from ck_auto_choose (wisdom table, else heuristic). */
#include <stdio.h>
#include <string.h>

#include "convkit/convkit.h"
#include "cli.h"

void ck_cli_print_auto_choices(const struct ck_net *net, const char *title)
{
    int header = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const struct ck_layer *l = &net->layers[i];
        const struct ck_conv_params *p = ck_layer_conv_params(l);
        if (!p || strcmp(ck_layer_backend(l)->name, "auto") != 0)
            continue;
        if (!header++)
            printf("%s\n", title);
        char desc[96];
        printf("  layer %d (%s)\n", i, ck_conv_problem_format(p, desc, sizeof desc));
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct ck_auto_choice c;
            if (ck_auto_choose(p, (enum ck_conv_pass)pass, &c) == CK_OK)
                printf("    %-17s %-12s %s\n", ck_conv_pass_name((enum ck_conv_pass)pass),
                       c.backend->name, c.reason);
        }
    }
}
