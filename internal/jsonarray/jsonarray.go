// Package jsonarray splits the body of a batch submission, a JSON array of
// objects, into the objects' exact bytes without decoding them (package
// node then parses each strictly with schemas.ParseSigned).
//
// Guarantees: the bytes returned are sub-slices of the input, byte for byte
// (no re-encoding, so a signature over them still verifies); at most limit
// objects are returned, whatever the input. Failures: a body that is not
// an array of objects is an error wrapping [ErrSyntax] with the byte
// offset; more than limit objects, [ErrTooLarge].
package jsonarray

import (
	"errors"
	"fmt"
)

// ErrSyntax is returned by Split for a body that is not a JSON
// array of objects.
var ErrSyntax = errors.New("malformed batch")

// ErrTooLarge is returned by Split for an array of more objects
// than its limit.
var ErrTooLarge = errors.New("too many objects")

// Split splits a JSON array of objects, `[ {...} , {...} ]` with any
// JSON whitespace between tokens, into the objects' exact bytes, without
// decoding them: each object is then parsed strictly by schemas.ParseSigned,
// which rejects anything that is not a canonical signed record. It only
// tracks strings (with their escapes) and bracket nesting, so it costs about
// a nanosecond a byte, and it allocates only the result slice. It stops with
// ErrTooLarge at the (limit+1)th object, so the result slice is bounded
// by limit however many tiny objects the body holds (8 MiB of "{}," would
// otherwise be 2.8 million slices, some 390 MiB allocated while growing).
func Split(b []byte, limit int) ([][]byte, error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, fmt.Errorf("%w: expected '[' at byte %d", ErrSyntax, i)
	}
	i = skipWS(b, i+1)
	var out [][]byte
	if i < len(b) && b[i] == ']' {
		if skipWS(b, i+1) != len(b) {
			return nil, fmt.Errorf("%w: data after the array", ErrSyntax)
		}
		return out, nil
	}
	for {
		if i >= len(b) || b[i] != '{' {
			return nil, fmt.Errorf("%w: expected '{' at byte %d", ErrSyntax, i)
		}
		end, err := objectEnd(b, i)
		if err != nil {
			return nil, err
		}
		if len(out) == limit {
			return nil, fmt.Errorf("%w: more than %d", ErrTooLarge, limit)
		}
		out = append(out, b[i:end])
		i = skipWS(b, end)
		if i >= len(b) {
			return nil, fmt.Errorf("%w: unterminated array", ErrSyntax)
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			if skipWS(b, i+1) != len(b) {
				return nil, fmt.Errorf("%w: data after the array", ErrSyntax)
			}
			return out, nil
		default:
			return nil, fmt.Errorf("%w: expected ',' or ']' at byte %d", ErrSyntax, i)
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// objectEnd returns the index just after the object starting at b[i] == '{'.
func objectEnd(b []byte, i int) (int, error) {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return 0, fmt.Errorf("%w: unterminated string", ErrSyntax)
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				if b[i] != '}' {
					return 0, fmt.Errorf("%w: mismatched bracket at byte %d", ErrSyntax, i)
				}
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("%w: unterminated object", ErrSyntax)
}
