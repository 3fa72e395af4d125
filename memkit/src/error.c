/*
 * error.c - the thread-local last error and the messages of MEM_ERROR_LIST.
 * Thread-safe: each thread has its own last error.
 */
#include "internal.h"

static mem__thread_local MemError last_error = MEM_OK;

static const char* const error_messages[MEM_ERROR_COUNT] = {
#define MEM__ERROR_MESSAGE(name, message) message,
    MEM_ERROR_LIST(MEM__ERROR_MESSAGE)
#undef MEM__ERROR_MESSAGE
};

static const char* const error_names[MEM_ERROR_COUNT] = {
#define MEM__ERROR_NAME(name, message) #name,
    MEM_ERROR_LIST(MEM__ERROR_NAME)
#undef MEM__ERROR_NAME
};

void mem__set_error(MemError error) { last_error = error; }

bool mem__fail(MemError error) {
    last_error = error;
    return false;
}

void* mem__fail_null(MemError error) {
    last_error = error;
    return NULL;
}

MemError mem_last_error(void) { return last_error; }

void mem_clear_error(void) { last_error = MEM_OK; }

static bool error_in_range(MemError error) { return (unsigned)error < (unsigned)MEM_ERROR_COUNT; }

const char* mem_strerror(MemError error) { return error_in_range(error) ? error_messages[error] : "unknown error"; }

const char* mem_error_name(MemError error) { return error_in_range(error) ? error_names[error] : "MEM_ERR_UNKNOWN"; }
