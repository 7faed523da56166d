"""A stand-in for the few grpcurl options the README uses, for the README test: grpcurl is in
neither Debian 12 nor PyPI. Like grpcurl, it learns the methods from the server's reflection
service and speaks JSON.

    grpcurl [-plaintext] [-cacert F] [-cert F] [-key F] [-H 'key: value']... [-d JSON|@] ADDRESS list|METHOD
"""

from __future__ import annotations

import sys
from pathlib import Path

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase


def main(argv: list[str]) -> int:
    headers, data, plaintext, files = [], None, False, {}
    rest = []
    args = iter(argv)
    for arg in args:
        if arg == "-plaintext":
            plaintext = True
        elif arg == "-H":
            key, _, value = next(args).partition(":")
            headers.append((key.strip().lower(), value.strip()))
        elif arg == "-d":
            data = next(args)
        elif arg in ("-cacert", "-cert", "-key"):
            files[arg] = Path(next(args)).read_bytes()
        elif arg.startswith("-"):
            print(f"grpcurl stand-in: {arg} is not supported", file=sys.stderr)
            return 2
        else:
            rest.append(arg)
    address, target = rest
    if plaintext:
        channel = grpc.insecure_channel(address)
    else:
        channel = grpc.secure_channel(address, grpc.ssl_channel_credentials(
            files.get("-cacert"), files.get("-key"), files.get("-cert")))
    database = ProtoReflectionDescriptorDatabase(channel)
    if target == "list":
        for name in sorted(database.get_services()):
            print(name)
        return 0
    service, _, method = target.replace("/", ".").rpartition(".")
    pool = descriptor_pool.DescriptorPool(database)
    descriptor = pool.FindServiceByName(service).FindMethodByName(method)
    request_class = message_factory.GetMessageClass(descriptor.input_type)
    response_class = message_factory.GetMessageClass(descriptor.output_type)
    text = sys.stdin.read() if data == "@" else (data or "{}")
    request = json_format.Parse(text, request_class())
    call = channel.unary_unary(f"/{service}/{method}", request_serializer=request_class.SerializeToString,
                               response_deserializer=response_class.FromString)
    try:
        response = call(request, metadata=headers, timeout=30)
    except grpc.RpcError as error:
        print(f"ERROR:\n  Code: {error.code().name}\n  Message: {error.details()}", file=sys.stderr)
        return 1
    print(json_format.MessageToJson(response, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
