/*
 * aliquot_gpio.h: one small GPIO API for Swift over libgpiod 1.6 (v1 API) and libgpiod 2.x (v2 API).
 *
 * The implementation (shim.c) picks the libgpiod API by what <gpiod.h> defines:
 * GPIOD_LINE_BULK_MAX_LINES is a macro in every v1 header (1.0 ... 1.6.x: the size of
 * struct gpiod_line_bulk) and is gone from v2, which has no line-bulk type at all. v2 headers define
 * no version macro, so the presence of that v1 macro is the test.
 *
 * This header includes nothing from libgpiod: the handles are opaque, so Swift sees one API
 * whichever libgpiod the board has.
 *
 * Conventions: functions returning a pointer return NULL on failure, functions returning int
 * return -1 on failure; either way errno says why (the errno of the failing libgpiod call or
 * syscall, or EINVAL for a bad argument such as an offset past the chip's last line).
 *
 * Lifetimes: a line handle borrows its chip. Release every line of a chip before closing the
 * chip (libgpiod v1 frees a chip's line objects when the chip is closed).
 */
#ifndef ALIQUOT_GPIO_H
#define ALIQUOT_GPIO_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Capacity (with the NUL) of the strings copied out of libgpiod; the kernel's own limit is 32. */
#define ALIQUOT_GPIO_STRING_MAX 64

/* An open GPIO chip (wraps struct gpiod_chip). */
struct aliquot_gpio_chip;

/* One line requested as an output (v1: struct gpiod_line; v2: struct gpiod_line_request). */
struct aliquot_gpio_line;

/* What the kernel reports about one line, copied out of libgpiod. */
struct aliquot_gpio_line_info {
    unsigned int offset;
    /* Line name, or "" when the line is unnamed. */
    char name[ALIQUOT_GPIO_STRING_MAX];
    /* Consumer label, or "" when the line is free (or its holder gave none). */
    char consumer[ALIQUOT_GPIO_STRING_MAX];
    bool used;
    bool output;
    bool active_low;
};

/* The libgpiod API this shim was compiled against: 1 or 2. */
int aliquot_gpio_api_major(void);

/* The runtime library version string (v1: gpiod_version_string(); v2: gpiod_api_version()). */
const char *aliquot_gpio_library_version(void);

/* Opens a chip by device path, for example "/dev/gpiochip0" (gpiod_chip_open). */
struct aliquot_gpio_chip *aliquot_gpio_chip_open_path(const char *path);

/* Opens a chip by device name, for example "gpiochip0" (gpiod_chip_open on "/dev/<name>").
 * A name containing '/' is EINVAL. */
struct aliquot_gpio_chip *aliquot_gpio_chip_open_name(const char *name);

/* Opens the chip whose label is `label`, for example "pinctrl-rp1": tries every /dev/gpiochip*
 * (libgpiod v2 has no open-by-label; v1's fails outright if any one chip cannot be opened, so the
 * shim does the same scan on both). No match is ENOENT, or EACCES/EPERM when some chip could not
 * be opened for lack of permission (it might have been the one). */
struct aliquot_gpio_chip *aliquot_gpio_chip_open_label(const char *label);

/* Closes the chip (gpiod_chip_close) and frees the handle. NULL is ignored. */
void aliquot_gpio_chip_close(struct aliquot_gpio_chip *chip);

/* The chip's kernel name ("gpiochip0"), label ("pinctrl-rp1") and number of lines, read once at
 * open (v1: gpiod_chip_name/label/num_lines; v2: gpiod_chip_get_info). Valid until close. */
const char *aliquot_gpio_chip_name(const struct aliquot_gpio_chip *chip);
const char *aliquot_gpio_chip_label(const struct aliquot_gpio_chip *chip);
unsigned int aliquot_gpio_chip_num_lines(const struct aliquot_gpio_chip *chip);

/* Requests line `offset` as an output driven to `default_value` (0 low, non-zero high; physical
 * levels, never active-low) under `consumer`.
 * v1: gpiod_chip_get_line + gpiod_line_request_output.
 * v2: gpiod_line_settings (direction output, output value) + gpiod_line_config +
 *     gpiod_request_config (consumer) -> gpiod_chip_request_lines.
 * An offset past the last line is EINVAL; a line held by another consumer is EBUSY. */
struct aliquot_gpio_line *aliquot_gpio_request_output(
    struct aliquot_gpio_chip *chip, unsigned int offset, const char *consumer, int default_value);

/* Drives the line: 0 low, non-zero high (v1: gpiod_line_set_value; v2:
 * gpiod_line_request_set_value). Returns 0 or -1. */
int aliquot_gpio_set_value(struct aliquot_gpio_line *line, int value);

/* Reads the line back: 0 or 1, or -1 (v1: gpiod_line_get_value; v2: gpiod_line_request_get_value). */
int aliquot_gpio_get_value(struct aliquot_gpio_line *line);

/* Releases the line to the kernel (v1: gpiod_line_release; v2: gpiod_line_request_release) and
 * frees the handle. NULL is ignored. */
void aliquot_gpio_release(struct aliquot_gpio_line *line);

/* Fills `info` with what the kernel reports about line `offset` (v1: gpiod_chip_get_line +
 * gpiod_line_update + the line getters; v2: gpiod_chip_get_line_info + the info getters).
 * Returns 0 or -1; an offset past the last line is EINVAL. */
int aliquot_gpio_line_info(
    struct aliquot_gpio_chip *chip, unsigned int offset, struct aliquot_gpio_line_info *info);

#ifdef __cplusplus
}
#endif

#endif /* ALIQUOT_GPIO_H */
