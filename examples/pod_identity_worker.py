"""One boto3 STS client, made once, calling GetCallerIdentity every 5 s for a minute:
run it under EKS Pod Identity variables (README, "botocore#3117 by hand") to see whether
its botocore re-reads the service-account token file after the kubelet rotates it."""
import time

import boto3
import botocore

sts = boto3.client("sts")
print("botocore", botocore.__version__, flush=True)
for _ in range(12):
    try:
        print(time.strftime("%H:%M:%S"), "ok", sts.get_caller_identity()["Arn"], flush=True)
    except Exception as e:  # the SDK's own error class is what this shows
        print(time.strftime("%H:%M:%S"), type(e).__name__, str(e)[:150], flush=True)
    time.sleep(5)
