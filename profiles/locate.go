package profiles

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// locator finds where a key path (such as ["mount", "1", "target"]) is
// written in a TOML source. BurntSushi/toml keeps key positions private, and
// our errors must say FILE:LINE:COL, so this reads the few forms a profile
// uses: [table], [[array]], key = value and dotted keys. When the exact key is
// not written (an inline table, say) it falls back to the nearest parent.
type locator struct {
	keys map[string][2]int // joined path -> line, col
}

func newLocator(src []byte) *locator {
	l := &locator{keys: map[string][2]int{}}
	var table []string
	counts := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " \t")
		col := len(line) - len(trimmed) + 1
		switch {
		case trimmed == "" || trimmed[0] == '#':
		case strings.HasPrefix(trimmed, "[["):
			name := splitKey(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(trimmed[2:], "]]", 2)[0]), "]"))
			key := strings.Join(name, ".")
			table = append(name, strconv.Itoa(counts[key]))
			counts[key]++
			l.add(table, n, col)
		case trimmed[0] == '[':
			table = splitKey(strings.SplitN(trimmed[1:], "]", 2)[0])
			l.add(table, n, col)
		default:
			eq := strings.IndexByte(trimmed, '=')
			if eq < 0 {
				continue
			}
			l.add(append(append([]string{}, table...), splitKey(trimmed[:eq])...), n, col)
		}
	}
	return l
}

func (l *locator) add(path []string, line, col int) {
	k := strings.Join(path, "\x00")
	if _, ok := l.keys[k]; !ok {
		l.keys[k] = [2]int{line, col}
	}
}

// find returns the line and column of path, or of its nearest written parent.
func (l *locator) find(path []string) (line, col int) {
	for i := len(path); i > 0; i-- {
		if pos, ok := l.keys[strings.Join(path[:i], "\x00")]; ok {
			return pos[0], pos[1]
		}
	}
	return 0, 0
}

// splitKey splits a dotted TOML key, honouring quotes.
func splitKey(s string) []string {
	var parts []string
	var cur strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
		case c == '.':
			parts = append(parts, strings.TrimSpace(cur.String()))
			cur.Reset()
		case c != ' ' && c != '\t':
			cur.WriteByte(c)
		}
	}
	return append(parts, strings.TrimSpace(cur.String()))
}
