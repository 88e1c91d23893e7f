package lambdaenv

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// NewLogger returns the functions' logger: JSON lines, each record logged
// with a context (the *Context methods) carrying the Lambda request id, so
// that one invocation's lines can be found together in CloudWatch.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(requestID{slog.NewJSONHandler(w, nil)})
}

type requestID struct{ slog.Handler }

func (h requestID) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("request_id", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestID) WithAttrs(as []slog.Attr) slog.Handler { return requestID{h.Handler.WithAttrs(as)} }
func (h requestID) WithGroup(name string) slog.Handler    { return requestID{h.Handler.WithGroup(name)} }
