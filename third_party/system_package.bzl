"""system_package: a Debian library that ships a pkg-config file, as a cc_library.

Its include directories (pkg-config --cflags-only-I) are linked into the repository,
so that headers outside /usr/include (GLib's glibconfig.h lives under /usr/lib) are
declared inputs like any other; its link flags come from pkg-config --libs.
"""

def _words(text):
    return [word for word in text.replace("\n", " ").split(" ") if word]

def _system_package_impl(ctx):
    pkg_config = ctx.which("pkg-config")
    if pkg_config == None:
        fail("pkg-config is missing: run third_party/install_packages.sh")
    cflags = ctx.execute([pkg_config, "--cflags-only-I", ctx.attr.package])
    libs = ctx.execute([pkg_config, "--libs", ctx.attr.package])
    if cflags.return_code != 0 or libs.return_code != 0:
        fail("pkg-config does not know %s: install its -dev package" % ctx.attr.package)
    includes = []
    for flag in _words(cflags.stdout):
        directory = "include%d" % len(includes)
        ctx.symlink(flag[2:], directory)
        includes.append(directory)
    ctx.file("BUILD.bazel", """load("@rules_cc//cc:defs.bzl", "cc_library")

cc_library(
    name = "{name}",
    hdrs = glob([d + "/**/*.h" for d in {includes}]),
    includes = {includes},
    linkopts = {linkopts},
    visibility = ["//visibility:public"],
)
""".format(name = ctx.attr.name, includes = repr(includes), linkopts = repr(_words(libs.stdout))))

system_package = repository_rule(
    implementation = _system_package_impl,
    attrs = {"package": attr.string(mandatory = True, doc = "the pkg-config name")},
    local = True,
)
