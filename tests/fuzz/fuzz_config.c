/* fuzz_config.c - the configuration file parser, on any text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../vmm/config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg;
	struct error err = { 0 };
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = 0;
	vm_config_defaults(&cfg);
	config_file_parse(&cfg, text, "fuzz.conf", &err);
	vm_config_free(&cfg);
	free(text);
	return 0;
}
