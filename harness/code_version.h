/* Which code gave a run's numbers: "<project version>+src.<hash of the sources>", and for people
 * the git describe of the checkout ("" outside git). Generated at build time by
 * cmake/code_version.cmake; result.json records both (code_version, versions.git), and harness
 * table flags a row whose seeds ran different code_versions. */
#ifndef HARNESS_CODE_VERSION_H
#define HARNESS_CODE_VERSION_H

extern const char hx_code_version[];
extern const char hx_code_git[];

#endif
