/* The configs of a folder, read for the commands that pick experiments by what they are rather
 * than by file name (harness compare: same arch and dataset; harness reproduce: same [run]
 * suite). Reads DIR/NAME.ini and DIR/SUB/NAME.ini (one level), sorted by path; every file must load
 * (a bad one is an error naming it: a suite with a broken config is not reproduced in part). */
#ifndef HARNESS_CONFIG_SCAN_H
#define HARNESS_CONFIG_SCAN_H
#include <stddef.h>
#include "base/fileio.h"
#include "base/option.h"

typedef struct hx_found_config {
    char path[FIO_PATH_MAX];
    char name[OPT_STR_MAX], arch[OPT_STR_MAX], dataset[OPT_STR_MAX], suite[OPT_STR_MAX];
    char method[OPT_STR_MAX];        /* "none" for plain training */
    char key[2 * OPT_STR_MAX + 2];   /* method[:mode], as harness table groups runs */
    char pretrained[OPT_STR_MAX];
    char hash[17];                   /* cfg_hash: same hash = same experiment under another name */
} hx_found_config;

/* Describes one config file. 0 = ok, else err names the file and what is wrong. */
int hx_config_describe(const char *path, hx_found_config *, char *err, size_t errlen);
/* Every config under dir (see above) into a malloc'd array (*out, *n; free with free()). */
int hx_config_scan(const char *dir, hx_found_config **out, int *n, char *err, size_t errlen);

#endif
