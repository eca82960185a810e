package tokencache

import (
	"errors"

	"github.com/m365send/m365send/internal/failure"
)

// ErrInsecureCache means the token cache file or its folder can be read or
// changed by other users; it is refused rather than used.
var ErrInsecureCache = errors.New("token cache is not private")

// CacheError is a token cache that cannot be used as it is: a cache file
// or folder other users can read or write (Err then wraps
// ErrInsecureCache), or a folder that cannot be created, examined or
// locked. It is a configuration problem (Kind is failure.Config); Hint
// says what to do.
type CacheError struct {
	// Path is the cache file or folder at fault.
	Path string
	// Advice is one line saying what to do, such as "chmod 600 FILE";
	// Hint returns it.
	Advice string
	// Err is the underlying error; its text names Path.
	Err error
}

// Error returns the underlying error's text (it names the path).
func (e *CacheError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *CacheError) Unwrap() error { return e.Err }

// Kind is failure.Config: the cache folder or file must be fixed.
func (e *CacheError) Kind() failure.Kind { return failure.Config }

// Hint returns Advice.
func (e *CacheError) Hint() string { return e.Advice }

var _ failure.Error = (*CacheError)(nil)
