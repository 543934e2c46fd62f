#!/usr/bin/env bash
# Regenerates src/SharpSeg.Onnx/Proto/Onnx.cs from the official onnx.proto (github.com/onnx/onnx, onnx/onnx.proto).
# Dev-time only, run by hand; the generated C# is committed and the build never runs protoc.
# Usage: tools/gen_onnx_proto.sh path/to/onnx.proto
# protoc comes from the Google.Protobuf.Tools NuGet package at the same version as the Google.Protobuf runtime the
# SharpSeg.Onnx project references, so the generated code and the runtime agree.
set -euo pipefail
proto=${1:?usage: $0 path/to/onnx.proto}
version=3.36.2
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/restore.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageReference Include="Google.Protobuf.Tools" Version="$version" /></ItemGroup>
</Project>
XML
dotnet restore "$work/restore.csproj" --packages "$work/packages" >/dev/null
protoc="$work/packages/google.protobuf.tools/$version/tools/linux_x64/protoc"
chmod +x "$protoc"

mkdir -p "$work/in"
# Our namespace instead of the upstream package name, so the generated types sit under SharpSeg.Onnx.
sed 's/^package onnx;/package onnx;\noption csharp_namespace = "SharpSeg.Onnx.Proto";/' "$proto" > "$work/in/onnx.proto"
"$protoc" --proto_path="$work/in" --csharp_out="$repo/src/SharpSeg.Onnx/Proto" \
  --csharp_opt=file_extension=.g.cs,internal_access "$work/in/onnx.proto"
echo "wrote $repo/src/SharpSeg.Onnx/Proto/Onnx.g.cs"
