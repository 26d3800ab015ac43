#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt uses for SUITE (default
# bookworm): the URI of the first enabled "deb" source that carries the
# suite itself, read from APT_DIR (default /etc/apt): sources.list and
# sources.list.d/*.list (one-line format) and sources.list.d/*.sources
# (deb822). The tests use the machine's own mirror, never a hard-coded
# public one; with none found it fails and says where it looked.
set -euo pipefail
suite=${1:-bookworm}
apt=${APT_DIR:-/etc/apt}
shopt -s nullglob

# One-line format: deb [options] URI SUITE COMPONENT...
for f in "$apt/sources.list" "$apt"/sources.list.d/*.list; do
  [ -f "$f" ] || continue
  uri=$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
    awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }')
  if [ -n "$uri" ]; then echo "$uri"; exit 0; fi
done

# deb822: stanzas separated by blank lines; fields Types, URIs, Suites, Enabled.
for f in "$apt"/sources.list.d/*.sources; do
  uri=$(awk -v s="$suite" '
    function flush() {
      if (types ~ /(^| )deb( |$)/ && enabled != "no" && (" " suites " ") ~ (" " s " ") && uris != "") {
        split(uris, u, " "); print u[1]; found = 1; exit
      }
      types = ""; uris = ""; suites = ""; enabled = ""
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    {
      key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, ""); val = $0
      if (key == "types") types = val
      else if (key == "uris") uris = val
      else if (key == "suites") suites = val
      else if (key == "enabled") enabled = tolower(val)
    }
    END { if (!found) flush() }' "$f")
  if [ -n "$uri" ]; then echo "$uri"; exit 0; fi
done

echo "apt-mirror.sh: no enabled deb source for $suite in $apt/sources.list or $apt/sources.list.d/" >&2
exit 1
