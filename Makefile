# Builds and installs libmemkit without Bazel:
#   make install PREFIX=/usr/local           (thread-safe; needs liburcu-dev)
#   make install PREFIX=/opt/memkit THREAD_SAFE=0
# Installs lib/libmemkit.a, lib/libmemkit.so.$(VERSION) (soname libmemkit.so.$(MAJOR)),
# include/memkit.h + include/memkit/*.h (so <memkit.h> and <memkit/memkit.h> both work)
# and lib/pkgconfig/memkit.pc; the thread-safe install also lib/libmemkit_malloc.so, the
# whole C allocator for LD_PRELOAD (docs/malloc.md). Each variant builds in a directory of its own, and
# memkit.pc is written for the prefix of each install, so the lines above can run one
# after the other. The version is memkit/include/memkit/version.h's; the compiler
# flags are Bazel's (memkit/cflags.sh).
VERSION := $(shell sed -n 's/^\#define MEMKIT_VERSION_STRING "\(.*\)"/\1/p' memkit/include/memkit/version.h)
MAJOR := $(firstword $(subst ., ,$(VERSION)))
PREFIX ?= /usr/local
THREAD_SAFE ?= 1
CC ?= cc
BUILD ?= build/make/threads$(THREAD_SAFE)
LIBDIR := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include

SRCS := $(wildcard memkit/src/*.c)
OBJS := $(SRCS:memkit/src/%.c=$(BUILD)/%.o)
CFLAGS ?= -O2 -g
ALL_CFLAGS := $(CFLAGS) $(shell sh memkit/cflags.sh) -fPIC -DMEM_THREAD_SAFE=$(THREAD_SAFE) -Imemkit/include
ifeq ($(THREAD_SAFE),0)
LIBS :=
PC_CFLAGS := -DMEM_THREAD_SAFE=0
PC_REQUIRES :=
PC_PRIVATE :=
else
LIBS := -lurcu-bp -lurcu-common -pthread
PC_CFLAGS :=
# liburcu through its own .pc where it has one.
ifeq ($(shell pkg-config --exists liburcu-bp 2>/dev/null && echo yes),yes)
PC_REQUIRES := liburcu-bp
PC_PRIVATE := -pthread
else
PC_REQUIRES :=
PC_PRIVATE := $(LIBS)
endif
endif

# libmemkit_malloc.so: the same sources and malloc_preload.c, built to be malloc itself.
PRELOAD_OBJS := $(SRCS:memkit/src/%.c=$(BUILD)/preload/%.o) $(BUILD)/preload/malloc_preload.o
ifeq ($(THREAD_SAFE),0)
PRELOAD_LIB :=
else
PRELOAD_LIB := $(BUILD)/libmemkit_malloc.so
endif

.PHONY: all install clean FORCE
all: $(BUILD)/libmemkit.a $(BUILD)/libmemkit.so.$(VERSION) $(BUILD)/memkit.pc $(PRELOAD_LIB)

$(BUILD)/%.o: memkit/src/%.c $(wildcard memkit/src/*.h memkit/include/*.h memkit/include/memkit/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/preload/%.o: memkit/src/%.c $(wildcard memkit/src/*.h memkit/include/*.h memkit/include/memkit/*.h)
	@mkdir -p $(BUILD)/preload
	$(CC) $(ALL_CFLAGS) -DMEMKIT_PRELOAD=1 -ftls-model=initial-exec -Imemkit/src -c $< -o $@

$(BUILD)/preload/malloc_preload.o: memkit/preload/malloc_preload.c $(wildcard memkit/include/*.h memkit/include/memkit/*.h)
	@mkdir -p $(BUILD)/preload
	$(CC) $(ALL_CFLAGS) -DMEMKIT_PRELOAD=1 -c $< -o $@

$(BUILD)/libmemkit_malloc.so: $(PRELOAD_OBJS)
	$(CC) -shared -Wl,-Bsymbolic-functions -o $@ $^ $(LIBS)

$(BUILD)/libmemkit.a: $(OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libmemkit.so.$(VERSION): $(OBJS)
	$(CC) -shared -Wl,-soname,libmemkit.so.$(MAJOR) -o $@ $^ $(LIBS)

# Written on every run: it names the prefix of this install.
$(BUILD)/memkit.pc: FORCE
	@mkdir -p $(BUILD)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: memkit' 'Description: memory management for multithreaded servers' 'Version: $(VERSION)' \
	  'Requires.private: $(PC_REQUIRES)' 'Cflags: -I$${includedir} $(PC_CFLAGS)' \
	  'Libs: -L$${libdir} -lmemkit' 'Libs.private: $(PC_PRIVATE)' > $@

install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/memkit
	install -m 644 $(BUILD)/libmemkit.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libmemkit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libmemkit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmemkit.so.$(MAJOR)
	ln -sf libmemkit.so.$(MAJOR) $(DESTDIR)$(LIBDIR)/libmemkit.so
	install -m 644 memkit/include/memkit.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 memkit/include/memkit/*.h $(DESTDIR)$(INCLUDEDIR)/memkit/
	install -m 644 $(BUILD)/memkit.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
ifneq ($(PRELOAD_LIB),)
	install -m 755 $(PRELOAD_LIB) $(DESTDIR)$(LIBDIR)/
endif

clean:
	rm -rf $(BUILD)
