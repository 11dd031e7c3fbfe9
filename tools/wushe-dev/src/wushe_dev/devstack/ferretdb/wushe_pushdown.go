// Wushe's addition to FerretDB v1.24.2's SQLite backend (see wushe.devstack.FERRETDB_PATCHES
// and docs/decisions/0021-the-store-filters-in-sqlite.md).
//
// As published, the backend hands SQLite a WHERE clause only for a filter that is a lone
// `_id` string; for every other filter it reads and decodes every document of the
// collection in Go and filters there. This builds a WHERE clause from the simple
// conditions of a filter: string equality, `$in` of strings, and a `^literal` prefix
// `$regex`, on top-level fields and dotted paths into embedded documents
// (`facts.station_id`), and on `_id` through its index (a prefix as a range of it, so the
// documents whose ids begin alike are found without reading the others). It is only a prefilter: every caller of
// `collection.Query` still applies the whole filter in Go (common.FilterIterator,
// common.FilterDocument), so the clause must never drop a document the filter matches,
// and may keep documents it does not (an array field is always kept, because a condition
// on a field also matches an array holding a matching element).

package sqlite

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// wusheMaxIn bounds the values of one `$in` pushed down (SQLite's limit on bound parameters
// is 32,766; a longer list is filtered in Go only).
const wusheMaxIn = 1000

// wusheSimpleField matches the field names, or dotted paths of them, used in a JSON path
// without quoting: an operator, an odd name or a numeric segment (an array index) is never
// pushed down.
var wusheSimpleField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

// wusheLiteral is true for the characters a regular expression reads as themselves.
func wusheLiteral(c byte) bool {
	return c == '_' || c == '-' || ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z')
}

// wusheEscaped is true for the punctuation a regular expression reads as itself after a
// backslash (Python's re.escape writes `st-1|` as `st\-1\|`); none of it is escaped in
// JSON text, so an `_id` range can start with it.
func wusheEscaped(c byte) bool {
	return strings.IndexByte(`-|.:/~`, c) >= 0
}

// wusheWhereClause returns ` WHERE ...` and its arguments for the conditions of filter that
// SQLite can check, or "" when there are none.
func wusheWhereClause(filter *types.Document) (string, []any) {
	if filter == nil || filter.Len() == 0 {
		return "", nil
	}

	var conds []string
	var args []any

	for _, key := range filter.Keys() {
		value := must.NotFail(filter.Get(key))

		if key == "_id" {
			// By the expression the `_id` index is on (an `_id` is never an array).
			cond, condArgs := wusheIDCondition(value)
			if cond != "" {
				conds = append(conds, cond)
				args = append(args, condArgs...)
			}

			continue
		}

		if !wusheSimpleField.MatchString(key) {
			continue
		}

		path := fmt.Sprintf(`'$.%s'`, key)
		text := fmt.Sprintf(`%s->>%s`, metadata.DefaultColumn, path)
		orArray := wusheArrayAlong(key)

		switch value := value.(type) {
		case string:
			conds = append(conds, fmt.Sprintf(`(%s = ? OR %s)`, text, orArray))
			args = append(args, value)
		case *types.Document:
			for _, op := range value.Keys() {
				operand := must.NotFail(value.Get(op))

				switch op {
				case "$eq":
					if s, ok := operand.(string); ok {
						conds = append(conds, fmt.Sprintf(`(%s = ? OR %s)`, text, orArray))
						args = append(args, s)
					}
				case "$in":
					if values, ok := wusheStrings(operand); ok {
						marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")
						conds = append(conds, fmt.Sprintf(`(%s IN (%s) OR %s)`, text, marks, orArray))
						args = append(args, values...)
					}
				case "$regex":
					if prefix, ok := wusheLiteralPrefix(value, operand); ok {
						conds = append(conds, fmt.Sprintf(`(substr(%s, 1, ?) = ? OR %s)`, text, orArray))
						args = append(args, utf8.RuneCountInString(prefix), prefix)
					}
				}
			}
		}
	}

	if len(conds) == 0 {
		return "", nil
	}

	return ` WHERE ` + strings.Join(conds, ` AND `), args
}

// wusheArrayAlong is true in SQL when the field, or any document on the way to it, is an
// array: then MongoDB's answer depends on the elements, which only the handler checks.
func wusheArrayAlong(key string) string {
	segments := strings.Split(key, ".")
	checks := make([]string, len(segments))

	for i := range segments {
		checks[i] = fmt.Sprintf(
			`json_type(%s, '$.%s') = 'array'`, metadata.DefaultColumn, strings.Join(segments[:i+1], "."),
		)
	}

	return strings.Join(checks, ` OR `)
}

// wusheIDCondition: `_id` equal to a string or ObjectID, or `$in` a list of them.
func wusheIDCondition(value any) (string, []any) {
	switch value := value.(type) {
	case string, types.ObjectID:
		return fmt.Sprintf(`%s = ?`, metadata.IDColumn), []any{string(must.NotFail(sjson.MarshalSingleValue(value)))}
	case *types.Document:
		if operand, err := value.Get("$regex"); err == nil {
			return wusheIDPrefix(value, operand)
		}

		if value.Len() != 1 {
			return "", nil
		}

		operand, err := value.Get("$in")
		if err != nil {
			return "", nil
		}

		values, ok := wusheStrings(operand)
		if !ok {
			return "", nil
		}

		for i, v := range values {
			values[i] = string(must.NotFail(sjson.MarshalSingleValue(v)))
		}

		marks := strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")

		return fmt.Sprintf(`%s IN (%s)`, metadata.IDColumn, marks), values
	}

	return "", nil
}

// wusheIDPrefix: `_id` starting with a literal, as a range of the index: from `"prefix` up
// to, not including, the prefix with its last character's successor (a stored string id is
// its JSON text, `"..."`; a number or an ObjectId never matches a regex).
func wusheIDPrefix(ops *types.Document, operand any) (string, []any) {
	prefix, ok := wusheLiteralPrefix(ops, operand)
	if !ok {
		return "", nil
	}

	low := `"` + prefix
	high := low[:len(low)-1] + string(rune(low[len(low)-1]+1))

	return fmt.Sprintf(`(%s >= ? AND %s < ?)`, metadata.IDColumn, metadata.IDColumn), []any{low, high}
}

// wusheStrings returns the elements of a short array of strings (nothing for anything else:
// a regex or a number in `$in` matches more than string equality can say).
func wusheStrings(operand any) ([]any, bool) {
	array, ok := operand.(*types.Array)
	if !ok || array.Len() == 0 || array.Len() > wusheMaxIn {
		return nil, false
	}

	out := make([]any, array.Len())

	for i := range array.Len() {
		s, ok := must.NotFail(array.Get(i)).(string)
		if !ok {
			return nil, false
		}

		out[i] = s
	}

	return out, true
}

// wusheLiteralPrefix returns the prefix of `{$regex: "^literal"}` without options: the one
// regular expression that matches exactly the strings starting with literal.
func wusheLiteralPrefix(ops *types.Document, operand any) (string, bool) {
	pattern, ok := operand.(string)
	if !ok || !strings.HasPrefix(pattern, "^") {
		return "", false
	}

	if options, err := ops.Get("$options"); err == nil {
		if s, ok := options.(string); !ok || s != "" {
			return "", false // `m` makes ^ match after any newline, `i` ignores case
		}
	}

	var prefix []byte

	for i := 1; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case wusheLiteral(c):
			prefix = append(prefix, c)
		case c == '\\' && i+1 < len(pattern) && wusheEscaped(pattern[i+1]):
			prefix = append(prefix, pattern[i+1])
			i++
		default:
			return "", false
		}
	}

	return string(prefix), len(prefix) > 0
}
