#!/usr/bin/env bash
# make dist carries every file of the tree: a file the tests, the build or
# the package read but EXTRA_DIST forgot would break a build from the
# tarball, which make distcheck (running only some tests) might not see.
. "$CW_TESTLIB"
set -e

[ -n "${CW_BUILD:-}" ] || fail "CW_BUILD is not set"
dist=cw-dist-$$
make -s -C "$CW_BUILD" dist-gzip distdir="$dist" >/dev/null
mv "$CW_BUILD/$dist.tar.gz" "$T/"
tar -tzf "$T/$dist.tar.gz" | sed "s#^$dist/##" | sort >"$T/in-tarball"
[ -s "$T/in-tarball" ] && pass "make dist wrote a tarball" || fail "make dist wrote nothing"

cd "$CW_TOP"
if [ -e .git ]; then
    git ls-files
else
    # A tree unpacked from a tarball: what it has is what it carries.
    find . -type f ! -path './_build/*' ! -path './_inst/*' | sed 's#^\./##'
fi | grep -v -e '^\.gitignore$' -e '/\.gitignore$' | sort >"$T/in-tree"
missing=$(comm -23 "$T/in-tree" "$T/in-tarball" | tr '\n' ' ')
expect_eq "every file of the tree is in the tarball" "$missing" ""
finish
