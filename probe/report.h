/* report: the offline analysis report (DESIGN.md "offline report"). */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "engine.h"

#define REPORT_VERSION 1

/* Builds the report as JSON; the caller owns the reference. */
json_t *report_build(engine_t *e);

/* Writes it as indented JSON, or as text for a person.  Return 0 or -EIO. */
int report_write_json(FILE *out, const json_t *report);
int report_write_text(FILE *out, const json_t *report);

#endif
