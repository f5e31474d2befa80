#!/usr/bin/env bash
# The source tree keeps the shape docs/ARCHITECTURE.md describes: each
# folder includes only the folders below it, no folder grows past a dozen
# source files, no file past about a thousand lines, library code never
# ends the process, and comments cite no document outside the repository.
. "$CW_TESTLIB"
set -e
cd "$CW_TOP"

# What each folder may include besides itself (the pipeline's order; web
# knows only the call database and the common parts, the engine wires
# everything, main.c sits on top).
declare -A may=(
    [probe/common]=""
    [probe/calldb]="common"
    [probe/service]="common"
    [rrd]="common"
    [web]="common calldb"
    [probe/capture]="common"
    [probe/decode]="common capture"
    [probe/sip]="common decode"
    [probe/media]="common decode sip"
    [probe/traffic]="common decode"
    [probe/netmon]="common rrd"
    [probe/incident]="common decode traffic"
    [probe/engine]="common calldb capture decode sip media traffic incident"
    [probe/daemon]="common calldb rrd web service capture decode sip media traffic netmon incident engine"
)
for dir in "${!may[@]}"; do
    self=${dir#probe/}
    [ -d "$dir" ] || { fail "$dir: folder missing"; continue; }
    bad=$(grep -Ho '^#include "[a-z]*/' "$dir"/*.[ch] | sed 's#:\#include "# #; s#/$##' |
        while read -r file folder; do
            case " $self ${may[$dir]} " in *" $folder "*) ;; *) echo "$file includes $folder/" ;; esac
        done)
    expect_eq "$dir includes only lower folders" "$bad" ""
done
# Every source folder is one of the above (or main.c's own).
for dir in probe/*/; do
    dir=${dir%/}
    [ -n "${may[$dir]+set}" ] || fail "$dir: a folder the layering check does not know"
done

for dir in probe/* rrd web; do
    [ -d "$dir" ] || continue
    n=$(find "$dir" -maxdepth 1 -name '*.[ch]' | wc -l)
    [ "$n" -le 12 ] && pass "$dir: $n source files" || fail "$dir: $n source files (at most 12)"
done

long=$(find probe rrd web -name '*.c' ! -name assets.c -exec wc -l {} + | awk '$2 != "total" && $1 > 1000')
expect_eq "no .c file over 1,000 lines" "$long" ""

exits=$(grep -n '[^_]exit(' probe/*/*.c rrd/*.c web/*.c || true)
expect_eq "library code never calls exit()" "$exits" ""

cites=$(grep -rn -e 'DESIGN\.md' -e '\.\./shared' probe rrd web tests --include='*.[ch]' || true)
expect_eq "no comment cites a document outside the repository" "$cites" ""

# Every link from the README and docs/ to a file of the tree resolves.
broken=$(for md in README.md docs/*.md captures/*/README.md; do
    grep -o '](\([^)#]*\)' "$md" | sed 's/^](//' | grep -v '^[a-z]*:' | while read -r link; do
        [ -z "$link" ] || [ -e "$(dirname "$md")/$link" ] || echo "$md -> $link"
    done
done)
expect_eq "links in README.md and docs/ resolve" "$broken" ""
[ -n "$(ls docs/*.md 2>/dev/null)" ] || fail "docs/ has no pages"

finish
