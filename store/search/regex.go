package search

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// Regular-expression modes. Logto hands them to PostgreSQL: posix is the
// ~ operator (~* when case-insensitive), which finds the pattern anywhere
// in the value; similar_to is SIMILAR TO, which must match the whole value
// and which Logto allows only with isCaseSensitive=true.
//
// idbolt matches them with regexp2, a backtracking engine that has the
// lookahead PostgreSQL's regular expressions have (Logto's own example is
// ^Jerry((?!Jr).)*Jr{1}((?!Jr).)*$) and, unlike PostgreSQL, a match
// timeout. A pattern is first rewritten from PostgreSQL's syntax to
// regexp2's where the two differ (translatePosix); a SIMILAR TO pattern is
// first turned into a PostgreSQL regular expression as PostgreSQL does
// (translateSimilarTo). What the rewriting cannot carry over faithfully is
// refused with an *Error rather than matched differently.
//
// Backtracking has no useful bound on its own, so the work is capped three
// ways: a pattern is at most MaxPatternLen bytes, one match may run for
// MatchTimeout, and all the matches of one query for RegexBudget together.
// A query that reaches either limit stops matching, and Err reports it.
const (
	// ModeSimilarTo is SQL SIMILAR TO, as PostgreSQL implements it.
	ModeSimilarTo Mode = "similar_to"
	// ModePosix is a PostgreSQL (POSIX advanced) regular expression
	// found anywhere in the value.
	ModePosix Mode = "posix"

	// MaxPatternLen is the longest regular expression or SIMILAR TO
	// pattern, in bytes.
	MaxPatternLen = 128
	// MatchTimeout bounds one match of one pattern against one value.
	MatchTimeout = 50 * time.Millisecond
	// RegexBudget bounds the time all the regular-expression matches of
	// one query take together.
	RegexBudget = time.Second
	// maxRepeat is PostgreSQL's largest repetition bound (DUPMAX).
	maxRepeat = 255
)

// regexBudget is the time the regular-expression matches of one query have
// left. It is shared by the copies of a Query; the mutex makes a Query
// safe to match from several goroutines, as one without regex items is.
type regexBudget struct {
	mu   sync.Mutex
	left time.Duration
	err  error
}

// spend charges d, the time a match of key's pattern took, to the budget
// and records the first failure (err from the match, or the budget spent),
// which stops every later match.
func (b *regexBudget) spend(key string, d time.Duration, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left -= d
	if b.err != nil {
		return
	}
	switch {
	case errors.Is(err, regexp2.ErrBacktrackingStackLimit):
		// The error's text is not passed on: regexp2 quotes the value
		// being matched, another user's data.
		b.err = &Error{key, "the pattern was stopped: it backtracks too deeply; write a simpler pattern"}
	case err != nil:
		b.err = &Error{key, fmt.Sprintf("the pattern was stopped: one match may take at most %v; write a simpler pattern", MatchTimeout)}
	case b.left < 0:
		b.err = &Error{key, fmt.Sprintf("the regular-expression search was stopped: the matches of one request may take at most %v together; write a simpler pattern or a narrower search", RegexBudget)}
	}
}

func (b *regexBudget) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// regex is a compiled posix or similar_to value.
type regex struct {
	re     *regexp2.Regexp
	budget *regexBudget
	key    string // the query key, for Err
}

// match reports whether the pattern matches s; once the query's budget is
// spent or a match failed, it reports false without matching.
func (x *regex) match(s string) bool {
	if x.budget.failed() != nil {
		return false
	}
	start := time.Now()
	ok, err := x.re.MatchString(s)
	x.budget.spend(x.key, time.Since(start), err)
	return ok && err == nil
}

// compileRegex compiles the value of a posix or similar_to item for key.
// caseSensitive is the query's isCaseSensitive. Returns an *Error for a
// pattern that is too long, that PostgreSQL would refuse, or that idbolt
// cannot match as PostgreSQL does.
func compileRegex(key string, mode Mode, pattern string, caseSensitive bool, budget *regexBudget) (*regex, error) {
	if len(pattern) > MaxPatternLen {
		return nil, &Error{key, fmt.Sprintf("the pattern is too long (%d bytes); at most %d bytes are allowed in %s mode", len(pattern), MaxPatternLen, mode)}
	}
	if !utf8.ValidString(pattern) {
		return nil, &Error{key, "the pattern is not valid UTF-8"}
	}
	posix := pattern
	if mode == ModeSimilarTo {
		if !caseSensitive {
			// Logto's own rule: PostgreSQL has no case-insensitive SIMILAR TO.
			return nil, &Error{key, "Cannot use case-insensitive match for `similar to`; add isCaseSensitive=true"}
		}
		var err error
		if posix, err = translateSimilarTo(pattern); err != nil {
			return nil, &Error{key, err.Error()}
		}
	}
	expr, err := translatePosix(posix)
	if err != nil {
		return nil, &Error{key, err.Error()}
	}
	// Singleline: PostgreSQL's . matches a newline too.
	opts := regexp2.Singleline
	if !caseSensitive {
		opts |= regexp2.IgnoreCase
	}
	re, err := regexp2.Compile(expr, opts)
	if err != nil {
		return nil, &Error{key, "invalid regular expression: " + quoteShort(err.Error())}
	}
	re.MatchTimeout = MatchTimeout
	return &regex{re: re, budget: budget, key: key}, nil
}

// translateSimilarTo turns a SIMILAR TO pattern into a PostgreSQL regular
// expression by PostgreSQL's rules (similar_escape in its regexp.c): the
// whole pattern anchored in a non-capturing group; % is .*, _ is .; a
// backslash makes the next character literal (or, before a letter, a
// regular-expression escape such as \d); . ^ $ are literals; a bracket
// expression is copied with its backslashes doubled; ( opens a
// non-capturing group; | * + ? { } ) keep their regular-expression
// meaning. \" separates the parts SUBSTRING uses, which do not change
// what matches; more than two are an error, as in PostgreSQL.
func translateSimilarTo(p string) (string, error) {
	var b strings.Builder
	b.WriteString("^(?:")
	afterEscape, inClass, quotes := false, false, 0
	for _, c := range p {
		switch {
		case afterEscape:
			afterEscape = false
			if c == '"' && !inClass {
				switch quotes {
				case 0:
					b.WriteString("){1,1}?(")
				case 1:
					b.WriteString("){1,1}(?:")
				default:
					return "", errors.New("a SIMILAR TO pattern may not contain more than two escape-double-quote separators")
				}
				quotes++
				continue
			}
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\\':
			afterEscape = true
		case inClass:
			b.WriteRune(c) // a backslash never gets here: it is the escape
			if c == ']' {
				inClass = false
			}
		case c == '[':
			b.WriteRune(c)
			inClass = true
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteByte('.')
		case c == '(':
			b.WriteString("(?:")
		case c == '.' || c == '^' || c == '$':
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	// A trailing escape escapes nothing; PostgreSQL drops it too.
	b.WriteString(")$")
	return b.String(), nil
}

// translatePosix rewrites a PostgreSQL advanced regular expression into
// regexp2's syntax where the two read the same text differently:
//
//   - $ is the end of the value (\z): regexp2's $ also matches before a
//     final newline;
//   - the escapes \y \Y \m \M \Z \A (word boundary, not one, word start,
//     word end, end, start), \b (a backspace in PostgreSQL), \e and \a;
//   - bracket expressions: [:class:] names, a ] first in the set, and [
//     inside a set, which regexp2 would read as a set subtraction;
//   - repetition bounds above 255, which PostgreSQL refuses.
//
// It refuses what it cannot translate and regexp2 would read otherwise:
// \U escapes, collating elements [. .] and equivalence classes [= =],
// embedded options and the (? groups PostgreSQL does not have (named and
// atomic groups, conditionals), and unknown escapes of letters.
func translatePosix(p string) (string, error) {
	var b strings.Builder
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch c {
		case '\\':
			if i+1 == len(rs) {
				return "", errors.New("the pattern ends with a lone backslash")
			}
			i++
			out, err := posixEscape(rs[i], false)
			if err != nil {
				return "", err
			}
			b.WriteString(out)
		case '$':
			b.WriteString(`\z`)
		case '[':
			n, err := posixBracket(&b, rs[i:])
			if err != nil {
				return "", err
			}
			i += n - 1
		case '(':
			if i+1 < len(rs) && rs[i+1] == '?' {
				ok := false
				for _, g := range []string{"?:", "?=", "?!", "?<=", "?<!"} {
					if strings.HasPrefix(string(rs[i+1:min(len(rs), i+1+len(g))]), g) {
						ok = true
						break
					}
				}
				if !ok {
					return "", errors.New("only the groups (?: (?= (?! (?<= and (?<! are supported after (")
				}
			}
			b.WriteRune(c)
		case '{':
			n, err := posixBound(rs[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(string(rs[i : i+n]))
			i += n - 1
		default:
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

// posixEscape returns regexp2's spelling of PostgreSQL's escape \c, inside
// a bracket expression when inClass.
func posixEscape(c rune, inClass bool) (string, error) {
	switch c {
	case 'd', 'D', 's', 'S', 'w', 'W', 'f', 'n', 'r', 't', 'v', 'x', 'u', 'c',
		'0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return `\` + string(c), nil
	case 'b':
		return `\x08`, nil // a backspace, not a word boundary
	case 'e':
		return `\x1B`, nil
	case 'a':
		return `\x07`, nil
	}
	if !inClass {
		switch c {
		case 'y':
			return `\b`, nil
		case 'Y':
			return `\B`, nil
		case 'm':
			return `\b(?=\w)`, nil
		case 'M':
			return `\b(?<=\w)`, nil
		case 'A':
			return `\A`, nil
		case 'Z':
			return `\z`, nil
		}
	}
	if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return "", fmt.Errorf("the escape \\%c is not supported", c)
	}
	// Any other character escaped is itself.
	return regexp2.Escape(string(c)), nil
}

// posixClasses are the [:name:] classes of PostgreSQL's bracket
// expressions, as the contents of a regexp2 set.
var posixClasses = map[string]string{
	"alpha": `\p{L}`, "digit": `0-9`, "alnum": `\p{L}\p{Nd}`, "upper": `\p{Lu}`, "lower": `\p{Ll}`,
	"space": `\s`, "blank": ` \t`, "punct": `\p{P}`, "xdigit": `0-9A-Fa-f`, "word": `\w`,
	"cntrl": `\p{Cc}`,
}

// posixBracket copies the bracket expression at the start of rs to b in
// regexp2's syntax and returns how many runes it took.
func posixBracket(b *strings.Builder, rs []rune) (int, error) {
	i := 1
	b.WriteByte('[')
	if i < len(rs) && rs[i] == '^' {
		b.WriteByte('^')
		i++
	}
	if i < len(rs) && rs[i] == ']' { // a ] first is a member
		b.WriteString(`\]`)
		i++
	}
	for ; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == ']':
			b.WriteByte(']')
			return i + 1, nil
		case c == '[' && i+1 < len(rs) && rs[i+1] == ':':
			end := i + 2
			for end+1 < len(rs) && !(rs[end] == ':' && rs[end+1] == ']') {
				end++
			}
			if end+1 >= len(rs) {
				return 0, errors.New("unterminated [: in a bracket expression")
			}
			name := string(rs[i+2 : end])
			class, ok := posixClasses[name]
			if !ok {
				return 0, fmt.Errorf("the class [:%s:] is not supported", quoteShort(name))
			}
			b.WriteString(class)
			i = end + 1 // the ] of :]
		case c == '[' && i+1 < len(rs) && (rs[i+1] == '.' || rs[i+1] == '='):
			return 0, errors.New("collating elements and equivalence classes ([. .] and [= =]) are not supported")
		case c == '[':
			b.WriteString(`\[`)
		case c == '\\':
			if i+1 == len(rs) {
				return 0, errors.New("the pattern ends with a lone backslash")
			}
			i++
			out, err := posixEscape(rs[i], true)
			if err != nil {
				return 0, err
			}
			b.WriteString(out)
		default:
			b.WriteRune(c)
		}
	}
	return 0, errors.New("unterminated bracket expression")
}

// posixBound checks the { at the start of rs and returns how many runes to
// copy: a whole bound {m}, {m,} or {m,n} with m <= n <= 255, or just the
// { when it starts no bound (a literal, in both syntaxes).
func posixBound(rs []rune) (int, error) {
	i, nums, digits := 1, []int{}, -1
	for ; i < len(rs); i++ {
		switch c := rs[i]; {
		case c >= '0' && c <= '9':
			if digits < 0 {
				digits = 0
			}
			if digits = digits*10 + int(c-'0'); digits > maxRepeat {
				return 0, fmt.Errorf("repetition counts are at most %d", maxRepeat)
			}
		case c == ',' && len(nums) == 0 && digits >= 0:
			nums, digits = append(nums, digits), -1
		case c == '}' && (digits >= 0 || len(nums) == 1):
			if digits >= 0 {
				nums = append(nums, digits)
			}
			if len(nums) == 2 && nums[1] < nums[0] {
				return 0, errors.New("invalid repetition count(s): the minimum is larger than the maximum")
			}
			return i + 1, nil
		default:
			return 1, nil
		}
	}
	return 1, nil
}
