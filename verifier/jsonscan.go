package verifier

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// The functions below navigate JSON text that encoding/json has already
// validated; they never decode numbers or build generic values. On input
// that is not valid JSON they return an error, and they never panic or
// loop. A "cursor" function receives data starting at a value and returns
// the index just past that value.

var errNotObject = errors.New("verifier: not a JSON object")

// walkObject calls fn for every member of the JSON object that makes up all
// of data (surrounding whitespace aside), in order, with the member's
// unescaped name and raw value.
func walkObject(data []byte, fn func(name, value []byte) error) error {
	end, err := objectAt(data, func(name, rest []byte) (int, error) {
		n := skipValue(rest, 0)
		if n < 0 {
			return 0, errNotObject
		}
		return n, fn(name, rest[:n])
	})
	if err != nil {
		return err
	}
	return trailing(data, end)
}

// objectAt walks the object at the start of data (after whitespace). For
// each member it calls fn with the unescaped name and the rest of data from
// the member's value on; fn returns the length of that value. objectAt
// returns the index just past the object.
func objectAt(data []byte, fn func(name, rest []byte) (int, error)) (int, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return 0, errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return 0, errNotObject
		}
		end, escaped := scanString(data, i)
		if end < 0 {
			return 0, errNotObject
		}
		name := data[i+1 : end-1]
		if escaped {
			var s string
			if err := json.Unmarshal(data[i:end], &s); err != nil {
				return 0, errNotObject
			}
			name = []byte(s)
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return 0, errNotObject
		}
		i = skipSpace(data, i+1)
		if i >= len(data) {
			return 0, errNotObject
		}
		n, err := fn(name, data[i:])
		if err != nil {
			return 0, err
		}
		next, done, err := afterElement(data, i, n, '}')
		if err != nil || done {
			return next, err
		}
		i = next
	}
}

// arrayAt is objectAt for the array at the start of data.
func arrayAt(data []byte, fn func(rest []byte) (int, error)) (int, error) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return 0, errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(data) {
			return 0, errNotObject
		}
		n, err := fn(data[i:])
		if err != nil {
			return 0, err
		}
		next, done, err := afterElement(data, i, n, ']')
		if err != nil || done {
			return next, err
		}
		i = next
	}
}

// afterElement steps past an element of n bytes that starts at i, then past
// the ',' that announces another element or the closing byte. It returns the
// index of the next element, or the index just past the container with done
// set.
func afterElement(data []byte, i, n int, closing byte) (next int, done bool, err error) {
	if n <= 0 || n > len(data)-i {
		return 0, false, errNotObject
	}
	i = skipSpace(data, i+n)
	if i >= len(data) {
		return 0, false, errNotObject
	}
	switch data[i] {
	case ',':
		return skipSpace(data, i+1), false, nil
	case closing:
		return i + 1, true, nil
	}
	return 0, false, errNotObject
}

func trailing(data []byte, i int) error {
	if skipSpace(data, i) != len(data) {
		return errNotObject
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index just past the string starting at data[i]
// (a '"'), and whether it contains a backslash escape; -1 if unterminated.
func scanString(data []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, false
}

// skipValue returns the index just past the value starting at data[i], or -1.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		end, _ := scanString(data, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, _ := scanString(data, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(data) {
			switch data[j] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				if j == i {
					return -1
				}
				return j
			}
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// scalar returns the raw scalar value (string, number, literal) at the
// start of rest, or nil.
func scalar(rest []byte) []byte {
	n := skipValue(rest, 0)
	if n <= 0 {
		return nil
	}
	return rest[:n]
}

// jsonString decodes a raw JSON string value without allocating more than the
// result on the common path (no escapes, valid UTF-8).
func jsonString(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}
