/* report: the offline analysis report (docs/report.md). */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "engine/engine.h"

#define REPORT_VERSION 1

/* Builds the report as JSON; the caller owns the reference. */
json_t *report_build(engine_t *e);

/* Writes the report as indented JSON, the same bytes as json_dumpf() of
 * report_build() with JSON_INDENT(2) and a newline, building one call or
 * stream at a time instead of the whole tree.  Returns 0 or -EIO. */
int report_write_json(FILE *out, engine_t *e);

/* Writes a built report as text for a person.  Returns 0 or -EIO. */
int report_write_text(FILE *out, const json_t *report);

#endif
