package domain

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer; handlers map them to exit codes and HTTP statuses.
const (
	ECONFLICT = "conflict"  // a conditional write lost, or a state change not allowed
	EINTERNAL = "internal"  // a bug or an unexpected failure of a dependency
	EINVALID  = "invalid"   // the input is wrong; the message says how
	ENOTFOUND = "not_found" // no such thing (or not visible to the caller)
	ETOOLARGE = "too_large" // the input is over a configured limit
	EBUSY     = "busy"      // someone else is working on it now: try again in a few minutes
)

// Error is an application error: a code for programs and a message for people.
// Messages meant for office users are in Italian.
type Error struct {
	Code    string
	Message string
	// ForUsers says Message is Italian, written for office users: the API
	// shows it as it is. Other messages are English, for operators.
	ForUsers bool
	Err      error // the cause, for logs; never shown to office users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Userf returns an *Error whose message, in Italian, is for office users.
func Userf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), ForUsers: true}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of the first *Error in err's chain, or a
// generic Italian message for other errors (whose details are for logs only).
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "Errore interno. Riprovare più tardi o contattare l'assistenza."
}
