// Package queue publishes notices (shared/notice) to the notify function's
// SQS queue: the handlers' publisher in AWS.
package queue

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/casellario-pec/casellario/shared/notice"
)

// SQSAPI is the part of the SQS client the publisher uses.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQS publishes events to one queue.
type SQS struct {
	Client   SQSAPI
	QueueURL string
}

var _ notice.Publisher = SQS{}

// Publish sends one event as one message.
func (q SQS) Publish(ctx context.Context, ev notice.Event) error {
	body, err := ev.Marshal()
	if err != nil {
		return err
	}
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.QueueURL), MessageBody: aws.String(body)}); err != nil {
		return fmt.Errorf("notice: queueing a %s event: %w", ev.Kind, err)
	}
	return nil
}
