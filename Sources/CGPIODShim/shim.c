/*
 * shim.c: the aliquot_gpio API (see include/aliquot_gpio.h) over libgpiod v1 (1.x) or v2 (2.x).
 *
 * API selection: GPIOD_LINE_BULK_MAX_LINES is defined by every libgpiod 1.x <gpiod.h> (it sizes
 * struct gpiod_line_bulk) and by no 2.x header (v2 dropped line bulks and defines no version
 * macro). Defining ALIQUOT_GPIOD_FORCE_V1 or ALIQUOT_GPIOD_FORCE_V2 overrides the detection.
 *
 * Every failure path returns NULL/-1 with errno from the call that failed; clean-up calls made
 * after a failure save and restore errno so they cannot overwrite it.
 */
#define _POSIX_C_SOURCE 200809L /* struct timespec in the v1 <gpiod.h>, DIR, snprintf */

#include "aliquot_gpio.h"

#include <gpiod.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(ALIQUOT_GPIOD_FORCE_V1)
#define ALIQUOT_GPIOD_V1 1
#elif defined(ALIQUOT_GPIOD_FORCE_V2)
#define ALIQUOT_GPIOD_V2 1
#elif defined(GPIOD_LINE_BULK_MAX_LINES)
#define ALIQUOT_GPIOD_V1 1
#else
#define ALIQUOT_GPIOD_V2 1
#endif

struct aliquot_gpio_chip {
    struct gpiod_chip *chip;
    char name[ALIQUOT_GPIO_STRING_MAX];
    char label[ALIQUOT_GPIO_STRING_MAX];
    unsigned int num_lines;
};

struct aliquot_gpio_line {
    unsigned int offset;
#if defined(ALIQUOT_GPIOD_V1)
    struct gpiod_line *line;
#else
    struct gpiod_line_request *request;
#endif
};

/* Copies a possibly-NULL C string into a fixed buffer, truncating; NULL becomes "". */
static void copy_string(char *destination, size_t capacity, const char *source)
{
    if (source == NULL) {
        destination[0] = '\0';
        return;
    }
    snprintf(destination, capacity, "%s", source);
}

int aliquot_gpio_api_major(void)
{
#if defined(ALIQUOT_GPIOD_V1)
    return 1;
#else
    return 2;
#endif
}

const char *aliquot_gpio_library_version(void)
{
#if defined(ALIQUOT_GPIOD_V1)
    return gpiod_version_string();
#else
    return gpiod_api_version();
#endif
}

struct aliquot_gpio_chip *aliquot_gpio_chip_open_path(const char *path)
{
    if (path == NULL || path[0] == '\0') {
        errno = EINVAL;
        return NULL;
    }
    struct aliquot_gpio_chip *handle = calloc(1, sizeof(*handle));
    if (handle == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    handle->chip = gpiod_chip_open(path);
    if (handle->chip == NULL) {
        int saved = errno;
        free(handle);
        errno = saved;
        return NULL;
    }
#if defined(ALIQUOT_GPIOD_V1)
    copy_string(handle->name, sizeof(handle->name), gpiod_chip_name(handle->chip));
    copy_string(handle->label, sizeof(handle->label), gpiod_chip_label(handle->chip));
    handle->num_lines = gpiod_chip_num_lines(handle->chip);
#else
    struct gpiod_chip_info *info = gpiod_chip_get_info(handle->chip);
    if (info == NULL) {
        int saved = errno;
        gpiod_chip_close(handle->chip);
        free(handle);
        errno = saved;
        return NULL;
    }
    copy_string(handle->name, sizeof(handle->name), gpiod_chip_info_get_name(info));
    copy_string(handle->label, sizeof(handle->label), gpiod_chip_info_get_label(info));
    handle->num_lines = (unsigned int)gpiod_chip_info_get_num_lines(info);
    gpiod_chip_info_free(info);
#endif
    return handle;
}

struct aliquot_gpio_chip *aliquot_gpio_chip_open_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL) {
        errno = EINVAL;
        return NULL;
    }
    char path[sizeof("/dev/") + ALIQUOT_GPIO_STRING_MAX];
    int length = snprintf(path, sizeof(path), "/dev/%s", name);
    if (length < 0 || (size_t)length >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return aliquot_gpio_chip_open_path(path);
}

struct aliquot_gpio_chip *aliquot_gpio_chip_open_label(const char *label)
{
    if (label == NULL || label[0] == '\0') {
        errno = EINVAL;
        return NULL;
    }
    DIR *directory = opendir("/dev");
    if (directory == NULL)
        return NULL;
    int denied = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        if (strncmp(entry->d_name, "gpiochip", strlen("gpiochip")) != 0)
            continue;
        char path[sizeof("/dev/") + sizeof(entry->d_name)];
        snprintf(path, sizeof(path), "/dev/%s", entry->d_name);
        struct aliquot_gpio_chip *chip = aliquot_gpio_chip_open_path(path);
        if (chip == NULL) {
            if (errno == EACCES || errno == EPERM)
                denied = errno;
            continue;
        }
        if (strcmp(chip->label, label) == 0) {
            closedir(directory);
            return chip;
        }
        aliquot_gpio_chip_close(chip);
    }
    closedir(directory);
    errno = denied != 0 ? denied : ENOENT;
    return NULL;
}

void aliquot_gpio_chip_close(struct aliquot_gpio_chip *chip)
{
    if (chip == NULL)
        return;
    gpiod_chip_close(chip->chip);
    free(chip);
}

const char *aliquot_gpio_chip_name(const struct aliquot_gpio_chip *chip)
{
    return chip->name;
}

const char *aliquot_gpio_chip_label(const struct aliquot_gpio_chip *chip)
{
    return chip->label;
}

unsigned int aliquot_gpio_chip_num_lines(const struct aliquot_gpio_chip *chip)
{
    return chip->num_lines;
}

struct aliquot_gpio_line *aliquot_gpio_request_output(
    struct aliquot_gpio_chip *chip, unsigned int offset, const char *consumer, int default_value)
{
    if (chip == NULL || consumer == NULL || offset >= chip->num_lines) {
        errno = EINVAL;
        return NULL;
    }
    struct aliquot_gpio_line *handle = calloc(1, sizeof(*handle));
    if (handle == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    handle->offset = offset;
#if defined(ALIQUOT_GPIOD_V1)
    handle->line = gpiod_chip_get_line(chip->chip, offset);
    if (handle->line == NULL
        || gpiod_line_request_output(handle->line, consumer, default_value != 0 ? 1 : 0) < 0) {
        int saved = errno;
        free(handle);
        errno = saved;
        return NULL;
    }
#else
    struct gpiod_line_settings *settings = gpiod_line_settings_new();
    struct gpiod_line_config *line_config = gpiod_line_config_new();
    struct gpiod_request_config *request_config = gpiod_request_config_new();
    int failed = settings == NULL || line_config == NULL || request_config == NULL;
    if (!failed)
        failed = gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT) < 0
            || gpiod_line_settings_set_output_value(
                   settings,
                   default_value != 0 ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0
            || gpiod_line_config_add_line_settings(line_config, &offset, 1, settings) < 0;
    if (!failed) {
        gpiod_request_config_set_consumer(request_config, consumer);
        handle->request = gpiod_chip_request_lines(chip->chip, request_config, line_config);
        failed = handle->request == NULL;
    }
    int saved = errno;
    if (request_config != NULL)
        gpiod_request_config_free(request_config);
    if (line_config != NULL)
        gpiod_line_config_free(line_config);
    if (settings != NULL)
        gpiod_line_settings_free(settings);
    if (failed) {
        free(handle);
        errno = saved != 0 ? saved : ENOMEM;
        return NULL;
    }
#endif
    return handle;
}

int aliquot_gpio_set_value(struct aliquot_gpio_line *line, int value)
{
    if (line == NULL) {
        errno = EINVAL;
        return -1;
    }
#if defined(ALIQUOT_GPIOD_V1)
    return gpiod_line_set_value(line->line, value != 0 ? 1 : 0);
#else
    return gpiod_line_request_set_value(
        line->request, line->offset,
        value != 0 ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE);
#endif
}

int aliquot_gpio_get_value(struct aliquot_gpio_line *line)
{
    if (line == NULL) {
        errno = EINVAL;
        return -1;
    }
#if defined(ALIQUOT_GPIOD_V1)
    return gpiod_line_get_value(line->line);
#else
    enum gpiod_line_value value = gpiod_line_request_get_value(line->request, line->offset);
    if (value == GPIOD_LINE_VALUE_ERROR)
        return -1;
    return value == GPIOD_LINE_VALUE_ACTIVE ? 1 : 0;
#endif
}

void aliquot_gpio_release(struct aliquot_gpio_line *line)
{
    if (line == NULL)
        return;
#if defined(ALIQUOT_GPIOD_V1)
    gpiod_line_release(line->line);
#else
    gpiod_line_request_release(line->request);
#endif
    free(line);
}

int aliquot_gpio_line_info(
    struct aliquot_gpio_chip *chip, unsigned int offset, struct aliquot_gpio_line_info *info)
{
    if (chip == NULL || info == NULL || offset >= chip->num_lines) {
        errno = EINVAL;
        return -1;
    }
    memset(info, 0, sizeof(*info));
    info->offset = offset;
#if defined(ALIQUOT_GPIOD_V1)
    struct gpiod_line *line = gpiod_chip_get_line(chip->chip, offset);
    if (line == NULL || gpiod_line_update(line) < 0)
        return -1;
    copy_string(info->name, sizeof(info->name), gpiod_line_name(line));
    copy_string(info->consumer, sizeof(info->consumer), gpiod_line_consumer(line));
    info->used = gpiod_line_is_used(line);
    info->output = gpiod_line_direction(line) == GPIOD_LINE_DIRECTION_OUTPUT;
    info->active_low = gpiod_line_active_state(line) == GPIOD_LINE_ACTIVE_STATE_LOW;
#else
    struct gpiod_line_info *line_info = gpiod_chip_get_line_info(chip->chip, offset);
    if (line_info == NULL)
        return -1;
    copy_string(info->name, sizeof(info->name), gpiod_line_info_get_name(line_info));
    copy_string(info->consumer, sizeof(info->consumer), gpiod_line_info_get_consumer(line_info));
    info->used = gpiod_line_info_is_used(line_info);
    info->output = gpiod_line_info_get_direction(line_info) == GPIOD_LINE_DIRECTION_OUTPUT;
    info->active_low = gpiod_line_info_is_active_low(line_info);
    gpiod_line_info_free(line_info);
#endif
    return 0;
}
