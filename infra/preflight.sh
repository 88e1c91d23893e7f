#!/usr/bin/env bash
# preflight.sh REGION ACCOUNT: what make deploy checks before cdk deploy, each failure with the command
# that fixes it. Prints the CDK context for the deploy (-c firstCreate=true when the stack does not
# exist yet). Needs the AWS CLI v2 and credentials for ACCOUNT.
set -uo pipefail
region=$1 account=$2
stack=${STACK:-Casellario}
fail() { echo "preflight: $*" >&2; exit 1; }

command -v aws >/dev/null || fail "the AWS CLI v2 is not installed (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)"

caller=$(aws sts get-caller-identity --query Account --output text 2>/dev/null) ||
  fail "no AWS credentials: run 'aws configure sso' or 'aws sso login' (or set AWS_PROFILE) first"
[ "$caller" = "$account" ] ||
  fail "the credentials are for account $caller, the deployment file says $account: pick the right profile (AWS_PROFILE)"

# eu-south-1 (Milan) is an opt-in Region: a new account must enable it first.
status=$(aws account get-region-opt-status --region-name "$region" --query RegionOptStatus --output text 2>/dev/null)
if [ -z "$status" ]; then # no account:GetRegionOptStatus permission: EC2 tells as well
  status=$(aws ec2 describe-regions --all-regions --region us-east-1 --filters "Name=region-name,Values=$region" \
    --query 'Regions[0].OptInStatus' --output text 2>/dev/null)
fi
case "$status" in
  ENABLED | ENABLED_BY_DEFAULT | opted-in | opt-in-not-required) ;;
  ENABLING) fail "Region $region is still being enabled (this can take minutes to hours): wait and retry" ;;
  DISABLED | DISABLING | not-opted-in)
    fail "Region $region is not enabled for account $account. Enable it (once): aws account enable-region --region-name $region, or in the console under Account > AWS Regions; then wait until 'aws account get-region-opt-status --region-name $region' says ENABLED" ;;
  *) fail "could not tell whether Region $region is enabled ($status): check 'aws account get-region-opt-status --region-name $region'" ;;
esac

# The CDK bootstrap (the CDKToolkit stack: assets bucket, deploy roles) must exist in the Region.
version=$(aws ssm get-parameter --region "$region" --name /cdk-bootstrap/hnb659fds/version --query Parameter.Value --output text 2>/dev/null) ||
  fail "the CDK is not bootstrapped in $account/$region. Run once: cd infra && npx --no-install cdk bootstrap aws://$account/$region"
[ "${version:-0}" -ge 6 ] 2>/dev/null ||
  fail "the CDK bootstrap in $region is version $version; this CDK needs 6 or later: run cd infra && npx --no-install cdk bootstrap aws://$account/$region"

# A stack that does not exist yet is created without deletion protection, so that a failed create rolls
# back whole; a stack left in ROLLBACK_COMPLETE cannot be updated and must be deleted first.
state=$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" --query 'Stacks[0].StackStatus' --output text 2>/dev/null)
case "$state" in
  "" | None) echo "-c firstCreate=true" ;;
  ROLLBACK_COMPLETE) # a failed first create: the CDK deletes the empty stack and creates it again
    echo "preflight: stack $stack is in ROLLBACK_COMPLETE (a failed first create); the deploy re-creates it" >&2
    echo "-c firstCreate=true" ;;
  *_IN_PROGRESS) fail "stack $stack is $state: wait for it to finish" ;;
  *) echo "" ;;
esac
