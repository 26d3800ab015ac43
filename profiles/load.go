package profiles

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Find returns the path of the nearest sandbox.toml in dir or its parents,
// or ErrNotFound.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, FileName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}

// Load reads the profile at path on top of the built-in defaults and
// validates it.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading profile: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data (named name in errors) on top of the built-in defaults
// and validates the result. Every error is an *Error or Errors.
func Parse(name string, data []byte) (*Profile, error) {
	p := Defaults()
	err := decodeInto(p, name, data)
	var unknown Errors
	if errors.As(err, &unknown) && unknown.onlyUnknownKeys() {
		// The rest decoded: report its problems too, in file order.
		err = nil
	}
	if err != nil {
		return nil, err
	}
	loc := newLocator(data)
	for i := range p.Setup {
		p.Setup[i].Line, _ = loc.find([]string{"setup", strconv.Itoa(i), "run"})
	}
	var invalid Errors
	if err := p.validate(name, loc); err != nil && !errors.As(err, &invalid) {
		return nil, err
	}
	all := append(unknown, invalid...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	if len(all) > 0 {
		return nil, all
	}
	return p, nil
}

// decodeInto decodes strictly: syntax errors, unknown keys and wrong types
// are reported with their position before anything is decoded into p.
func decodeInto(p *Profile, name string, data []byte) error {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &Error{File: name, Line: pe.Position.Line, Col: max(pe.Position.Col, 1), Msg: pe.Message}
		}
		return &Error{File: name, Msg: err.Error()}
	}
	loc := newLocator(data)
	var errs Errors
	checkTable(raw, reflect.TypeOf(*p), nil, func(path []string, msg, hint string) {
		line, col := loc.find(path)
		e := &Error{File: name, Line: line, Col: col, Msg: msg, Suggest: hint}
		if msg == "" { // checkTable's way of saying: unknown key
			e.Msg, e.unknownKey = fmt.Sprintf("unknown key %q", strings.Join(path, ".")), true
		}
		errs = append(errs, e)
	})
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		if !errs.onlyUnknownKeys() {
			return errs
		}
	}
	if _, err := toml.Decode(string(data), p); err != nil {
		// A typed value (a size, duration, port) that does not parse.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &Error{File: name, Line: pe.Position.Line, Col: max(pe.Position.Col, 1), Msg: pe.LastKey + ": " + pe.Message, Suggest: valueHints[pe.LastKey]}
		}
		return &Error{File: name, Msg: err.Error()}
	}
	for k := range raw {
		p.markSet(k)
	}
	return errs.orNil()
}

// valueHints are the suggestions for the typed values that fail to parse.
var valueHints = map[string]string{
	"limits.memory":      `write e.g. memory = "2GiB"`,
	"limits.memory_swap": `write e.g. memory_swap = "0"`,
	"limits.timeout":     `write a duration such as "30m" or "90s"`,
	"network.ports":      `write e.g. ports = ["127.0.0.1:8080:80/tcp", "5353:53/udp"]`,
}

// onlyUnknownKeys reports whether every error is an unknown key, after
// which the rest of the file still decodes.
func (es Errors) onlyUnknownKeys() bool {
	for _, e := range es {
		if !e.unknownKey {
			return false
		}
	}
	return true
}

type reportFunc func(path []string, msg, hint string)

// checkTable compares a decoded TOML table with the struct type t, reporting
// unknown keys (with the closest known one) and values of the wrong type.
func checkTable(table map[string]any, t reflect.Type, path []string, report reportFunc) {
	fields := map[string]reflect.Type{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = t.Field(i).Type
		names = append(names, tag)
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := append(append([]string{}, path...), k)
		ft, ok := fields[k]
		if !ok {
			hint := ""
			if s := closest(k, names); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			report(kp, "", hint)
			continue
		}
		checkValue(table[k], ft, kp, report)
	}
}

func checkValue(v any, t reflect.Type, path []string, report reportFunc) {
	key := strings.Join(path, ".")
	wrong := func(want string) {
		report(path, fmt.Sprintf("%s must be %s, not %s", key, want, tomlType(v)), "")
	}
	switch {
	case reflect.PointerTo(t).Implements(textUnmarshaler):
		if _, ok := v.(string); !ok {
			wrong("a string")
		}
		return
	case t.Kind() == reflect.Slice && reflect.PointerTo(t.Elem()).Implements(textUnmarshaler):
		checkStrings(v, key, path, wrong, report)
		return
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			wrong("a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			wrong("true or false")
		}
	case reflect.Int, reflect.Int64:
		if _, ok := v.(int64); !ok {
			wrong("an integer")
		}
	case reflect.Float64:
		_, isFloat := v.(float64)
		_, isInt := v.(int64)
		if !isFloat && !isInt {
			wrong("a number")
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			wrong("a table")
			return
		}
		checkTable(m, t, path, report)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			wrong("a table")
			return
		}
		for k, e := range m {
			checkValue(e, t.Elem(), append(append([]string{}, path...), k), report)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			tables, ok := v.([]map[string]any)
			if !ok {
				wrong("an array of tables ([[" + key + "]])")
				return
			}
			for i, m := range tables {
				checkTable(m, t.Elem(), append(append([]string{}, path...), strconv.Itoa(i)), report)
			}
			return
		}
		checkStrings(v, key, path, wrong, report)
	}
}

// textUnmarshaler is the type of the values written as strings that parse
// themselves (Size, Duration, Port).
var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// checkStrings checks that v is an array of strings.
func checkStrings(v any, key string, path []string, wrong func(string), report reportFunc) {
	items, ok := v.([]any)
	if !ok {
		wrong("an array")
		return
	}
	for _, e := range items {
		if _, ok := e.(string); !ok {
			report(path, fmt.Sprintf("%s must be an array of strings, not hold %s", key, tomlType(e)), "")
			return
		}
	}
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return fmt.Sprintf("%T", v)
}

// closest returns the name nearest to s by edit distance, if it is near.
func closest(s string, names []string) string {
	best, bestD := "", len(s)/2+2
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
