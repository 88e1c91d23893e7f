package ports

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/casellario-pec/casellario/shared/notify"
)

// FromEnv returns the notifier of a function in AWS: events to the notify queue
// named by CASELLARIO_NOTIFY_QUEUE_URL. Without it (a deployment with no e-mail to
// offices) ok is false and the caller keeps its logging notifier.
func FromEnv(cfg aws.Config) (n Notifier, ok bool) {
	url := os.Getenv("CASELLARIO_NOTIFY_QUEUE_URL")
	if url == "" {
		return Notifier{}, false
	}
	return Notifier{Publisher: notify.SQS{Client: sqs.NewFromConfig(cfg), QueueURL: url}}, true
}

// Or returns the queue notifier when CASELLARIO_NOTIFY_QUEUE_URL is set, else
// fallback (a function's logging notifier). N is the function's port, which
// Notifier implements.
func Or[N any](cfg aws.Config, fallback N) N {
	if n, ok := FromEnv(cfg); ok {
		if port, ok := any(n).(N); ok {
			return port
		}
	}
	return fallback
}
