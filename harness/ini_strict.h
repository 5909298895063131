/* A strict INI reader: every byte of the file is accounted for, so nothing in a config is
 * silently dropped or read as something else.
 *
 *   - the file is text: a NUL byte is an error (with its line);
 *   - a UTF-8 byte-order mark at the start is skipped, "\r\n" is read as "\n";
 *   - a line is blank, a comment (first non-blank character ';' or '#'), a section header
 *     "[name]", or "key = value" (key of letters, digits, '_', '.', '-'; the value is everything
 *     after the first '=', blanks around it removed; no inline comments, no continuation lines);
 *     anything else is an error;
 *   - lines are at most INI_LINE_MAX characters (a longer line is an error, never split);
 *   - a section name appears once, a key once per section: a repeat is an error naming both lines.
 * Errors read "<path>:<line>: <what>". */
#ifndef HARNESS_INI_STRICT_H
#define HARNESS_INI_STRICT_H
#include <stddef.h>

enum { INI_LINE_MAX = 4096 };

/* Called for each key in file order; returns 0 to go on, or -1 after writing err itself. */
typedef int (*ini_key_fn)(void *user, int line, const char *section, const char *key, const char *value,
                          char *err, size_t errlen);

/* Parses text[0..len) (text is modified: lines are cut in place, and text[len] must exist, as
 * fio_read_all's terminating NUL does). path is for messages.
 * 0 = ok; -1 with err. */
int ini_strict_parse(char *text, size_t len, const char *path, ini_key_fn fn, void *user, char *err, size_t errlen);

#endif
