// zlib (system libz, package zlib1g-dev) for reading .jsonl.gz corpora.
#include <zlib.h>
