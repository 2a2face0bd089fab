"""The S3 front door (Swift's s3api): S3 requests signed with EC2 credentials, served from the same data."""
