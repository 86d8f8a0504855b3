#!/bin/sh
# report.html in a real browser (issue 12): bundled scenarios' pages are
# opened in headless Chromium from file:// URLs. A page passes when
#  - Chromium logs no console message for it (--enable-logging=stderr
#    --v=0 logs every console message, and every SVG or HTML error the
#    parser reports, as ":INFO:CONSOLE"; a planted console.error and a
#    broken SVG path prove the check sees them);
#  - the DOM Chromium built (--dump-dom) holds the charts, heat maps and
#    tables the page is made of, so it parsed as meant;
#  - the page references nothing outside itself (no http:, no src=, no
#    link to another file);
#  - its screenshot (1400x3000) is not blank: a PNG of a blank page of that
#    size is a few kilobytes, a drawn report hundreds, so its size must be
#    ten times that of a blank page's screenshot taken the same way (no
#    image library needed).
# Chromium is a test dependency (scripts/install-deps chromium; `make
# test-deps`); without it the test says so and skips. Every Chromium runs in
# its own process group, killed when it ends or the test is interrupted.
set -u

bin=${CLUSTERSIM:-./clustersim}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "html: SKIPPED: chromium not installed (scripts/install-deps chromium)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-html-XXXXXX")
pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL -- "-$pid" 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
failures=0
checks=0

. tests/lib.sh

# browse OUT ARGS...: runs headless Chromium in its own process group with a
# fresh profile; stdout to OUT, stderr to OUT.err. At most 60 s.
browse() {
    out=$1
    shift
    rm -rf "$tmp/profile"
    setsid "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 "$@" \
        > "$out" 2> "$out.err" &
    pid=$!
    (sleep 60 && kill -KILL -- "-$pid" 2> /dev/null) &
    watchdog=$!
    wait "$pid"
    kill "$watchdog" 2> /dev/null
    wait "$watchdog" 2> /dev/null
    kill -KILL -- "-$pid" 2> /dev/null # helpers the browser left
    pid=""
}

console_errors() {
    grep -c ':INFO:CONSOLE' "$1" || true
}

echo "html: the console check sees planted errors"
printf '<!DOCTYPE html><html><body><script>console.error("planted")</script>' > "$tmp/bad.html"
printf '<svg><path d="M0 0 Lx"/></svg></body></html>' >> "$tmp/bad.html"
browse "$tmp/bad.dom" --dump-dom "file://$tmp/bad.html"
check "[ \$(console_errors '$tmp/bad.dom.err') -ge 2 ]" "planted console errors not seen"

printf '<!DOCTYPE html><html><body></body></html>' > "$tmp/blank.html"
browse "$tmp/blank.out" --screenshot="$tmp/blank.png" --window-size=1400,3000 \
    "file://$tmp/blank.html"
blank=$(wc -c < "$tmp/blank.png" 2> /dev/null || echo 0)
check "[ $blank -gt 0 ]" "no screenshot of a blank page"

# Every bundled scenario's page (bench's is too large a run for a test).
# The DOM is checked on the first (two sites with a partition); every page
# is screenshot, with the console checked during the screenshot too.
dom=1
for s in split-brain $(ls scenarios/*.json | sed 's|scenarios/||; s|\.json$||' |
    grep -v -e '^bench' -e '^split-brain$'); do
    echo "html: $s"
    out="$tmp/$s"
    "$bin" run "scenarios/$s.json" --out "$out" > "$tmp/$s.log" 2>&1
    page="$out/report.html"
    check "[ -s '$page' ]" "$s: no report.html"
    [ -s "$page" ] || continue
    check "! grep -Eq 'https?:|src=|<link|@import|url\\(' '$page'" "$s: refers outside itself"
    check "grep -q \"\$(sed -n 's/^digest: //p' '$tmp/$s.log')\" '$page'" "$s: digest not shown"
    if [ $dom = 1 ]; then
        dom=0
        browse "$tmp/$s.dom" --dump-dom "file://$page"
        n=$(console_errors "$tmp/$s.dom.err")
        check "[ $n -eq 0 ]" "$s: $n console messages: $(grep ':INFO:CONSOLE' "$tmp/$s.dom.err" | head -3)"
        charts=$(grep -o '<svg class="chart"' "$tmp/$s.dom" | wc -l)
        check "[ $charts -ge 10 ]" "$s: $charts charts in the DOM, expected >= 10"
        check "grep -q '<image[^>]*href=\"data:image/png;base64,' '$tmp/$s.dom'" "$s: no status strip"
        check "grep -q '<td class=\"pass\">pass</td>' '$tmp/$s.dom'" "$s: no expectations table"
        check "grep -q '>2026-01-05<' '$tmp/$s.dom'" "$s: no wall-clock date on the axes"
    fi
    browse "$tmp/$s.out" --screenshot="$tmp/$s.png" --window-size=1400,3000 "file://$page"
    n=$(console_errors "$tmp/$s.out.err")
    check "[ $n -eq 0 ]" "$s: $n console messages: $(grep ':INFO:CONSOLE' "$tmp/$s.out.err" | head -3)"
    size=$(wc -c < "$tmp/$s.png" 2> /dev/null || echo 0)
    check "[ $size -gt $((blank * 10)) ]" "$s: screenshot of $size bytes looks blank (blank: $blank)"
    if [ -n "${HTML_SCREENSHOTS:-}" ]; then
        mkdir -p "$HTML_SCREENSHOTS" && cp "$tmp/$s.png" "$HTML_SCREENSHOTS/"
    fi
done

echo "html: $checks checks, $failures failed"
[ $failures -eq 0 ]
