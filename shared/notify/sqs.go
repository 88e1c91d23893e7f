package notify

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQS publishes events to the notify function's queue.
type SQS struct {
	Client   *sqs.Client
	QueueURL string // CASELLARIO_NOTIFY_QUEUE_URL
}

// Publish sends one event.
func (q SQS) Publish(ctx context.Context, ev Event) error {
	body, err := ev.Marshal()
	if err != nil {
		return err
	}
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(body)}); err != nil {
		return fmt.Errorf("notify: queueing %s event: %w", ev.Kind, err)
	}
	return nil
}
