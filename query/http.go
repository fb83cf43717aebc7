package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Error codes of the error body.
const (
	CodeInvalid         = "invalid_query"
	CodeUnknownCustomer = "unknown_customer"
	CodeCanceled        = "canceled"
	CodeUnsupported     = "unsupported"
	CodeBadRequest      = "bad_request"
	CodeUnauthorized    = "unauthorized"
	CodeForbidden       = "forbidden"
	CodeUnavailable     = "unavailable"
	CodeInternal        = "internal"
)

// ErrorBody is the JSON body of every error answer:
// {"error": {"code": "...", "message": "..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong, for a person to act on.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MaxQueryBytes caps the size of a query body.
const MaxQueryBytes = 1 << 20

// WriteError writes an error answer with status and code.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// WriteQueryError writes err as an error answer with the status and code
// Classify gives it, and returns them.
func WriteQueryError(w http.ResponseWriter, err error) (status int, code string) {
	status, code = Classify(err)
	WriteError(w, status, code, err.Error())
	return status, code
}

// WriteAnswer writes a 200 answer.
func WriteAnswer(w http.ResponseWriter, a *Answer) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

// Decode reads and validates a query from a request body. Its errors are
// *InvalidError (400), including for bodies that are not JSON, have unknown
// fields or exceed MaxQueryBytes.
func Decode(r io.Reader) (*Query, error) {
	dec := json.NewDecoder(io.LimitReader(r, MaxQueryBytes+1))
	dec.DisallowUnknownFields()
	var q Query
	if err := dec.Decode(&q); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, &InvalidError{Field: "body", Message: fmt.Sprintf("not valid JSON at byte %d: %v", se.Offset, err)}
		case errors.As(err, &te):
			return nil, &InvalidError{Field: te.Field, Message: fmt.Sprintf("wants %s, got JSON %s", te.Type, te.Value)}
		case errors.Is(err, io.EOF):
			return nil, &InvalidError{Field: "body", Message: "empty; send a JSON query"}
		}
		return nil, &InvalidError{Field: "body", Message: err.Error()}
	}
	if dec.More() {
		return nil, &InvalidError{Field: "body", Message: "trailing data after the JSON query"}
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return &q, nil
}
