using System.Buffers.Binary;
using System.Diagnostics;

namespace SharpSeg.Tests.Fuzz;

/// <summary>
/// Seeded, deterministic mutations of small valid files for the readers' fuzz tests (shared by the Data and Nn test
/// projects). Generic edits — bit flips, bytes and 16/32-bit fields set to boundary values in either byte order,
/// truncations, deleted, repeated and inserted ranges — are mixed with the format-aware edits a test adds (header
/// fields, chunk lengths, repeated scans, …); an optional repair step (CRCs, length prefixes) then lets most cases
/// get past the first checksum into the decoder proper.
/// </summary>
internal sealed class Mutator(IReadOnlyList<(string Name, Mutator.Edit Apply)> formatEdits, Func<byte[], byte[]>? repair = null)
{
    /// <summary>Returns the edited bytes, or null when the edit does not apply to this input.</summary>
    public delegate byte[]? Edit(byte[] data, Random random);

    public static readonly byte[] Boundary8 = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF];

    public static readonly ushort[] Boundary16 = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF];

    public static readonly uint[] Boundary32 =
        [0, 1, 2, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFE, 0x5555_5555, 0x0001_0001];

    private static readonly (string Name, Edit Apply)[] GenericEdits =
    [
        ("flip bits", FlipBits),
        ("boundary byte", (d, r) => Set(d, r, 1, (s, r) => s[0] = Boundary8[r.Next(Boundary8.Length)])),
        ("boundary u16", (d, r) => Set(d, r, 2, (s, r) => Write16(s, Boundary16[r.Next(Boundary16.Length)], r.Next(2) == 0))),
        ("boundary u32", (d, r) => Set(d, r, 4, (s, r) => Write32(s, Boundary32[r.Next(Boundary32.Length)], r.Next(2) == 0))),
        ("truncate", (d, r) => d.Length < 2 ? null : d[..r.Next(d.Length)]),
        ("delete range", (d, r) => Splice(d, r, insert: false)),
        ("repeat range", (d, r) => Splice(d, r, insert: true)),
        ("insert random bytes", InsertRandom),
        ("randomise range", RandomiseRange),
    ];

    /// <summary>One case: 1–3 edits (format-aware ones half the time), then usually the repair.</summary>
    public (byte[] Data, string Description) Mutate(byte[] seed, Random random)
    {
        var data = seed;
        var applied = new List<string>();
        int edits = random.Next(1, 4);
        for (int attempt = 0; applied.Count < edits && attempt < 10; attempt++)
        {
            var (name, apply) = formatEdits.Count > 0 && random.Next(2) == 0
                ? formatEdits[random.Next(formatEdits.Count)]
                : GenericEdits[random.Next(GenericEdits.Length)];
            var edited = apply(data, random);
            if (edited is null)
                continue;
            data = edited;
            applied.Add(name);
        }
        if (repair is not null && random.Next(8) != 0)
        {
            data = repair(data);
            applied.Add("repaired");
        }
        return (data, string.Join(" + ", applied));
    }

    /// <summary>A position, half the time within the first 64 bytes where the headers live.</summary>
    public static int Position(int length, Random random, int width = 1)
    {
        Debug.Assert(length >= width);
        int span = length - width + 1;
        return random.Next(2) == 0 ? random.Next(Math.Min(span, 64)) : random.Next(span);
    }

    public static void Write16(Span<byte> s, ushort value, bool bigEndian)
    {
        if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(s, value);
        else BinaryPrimitives.WriteUInt16LittleEndian(s, value);
    }

    public static void Write32(Span<byte> s, uint value, bool bigEndian)
    {
        if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(s, value);
        else BinaryPrimitives.WriteUInt32LittleEndian(s, value);
    }

    public static byte[] Concat(params ReadOnlySpan<byte[]> parts)
    {
        var result = new byte[parts.ToArray().Sum(p => p.Length)];
        int at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, at);
            at += part.Length;
        }
        return result;
    }

    /// <summary>Text editing for headers stored as text (NPY's dict, safetensors' JSON).</summary>
    public static string ReplaceRandomMatch(string text, System.Text.RegularExpressions.Regex pattern, string replacement, Random random)
    {
        var matches = pattern.Matches(text);
        if (matches.Count == 0)
            return text;
        var m = matches[random.Next(matches.Count)];
        return string.Concat(text.AsSpan(0, m.Index), replacement, text.AsSpan(m.Index + m.Length));
    }

    private delegate void SpanWriter(Span<byte> target, Random random);

    private static byte[]? Set(byte[] data, Random random, int width, SpanWriter write)
    {
        if (data.Length < width)
            return null;
        var copy = (byte[])data.Clone();
        write(copy.AsSpan(Position(copy.Length, random, width), width), random);
        return copy;
    }

    private static byte[]? FlipBits(byte[] data, Random random)
    {
        if (data.Length == 0)
            return null;
        var copy = (byte[])data.Clone();
        for (int flips = random.Next(1, 9); flips > 0; flips--)
            copy[Position(copy.Length, random)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private static byte[]? Splice(byte[] data, Random random, bool insert)
    {
        if (data.Length < 2)
            return null;
        int start = random.Next(data.Length), length = 1 + random.Next(Math.Min(64, data.Length - start));
        if (!insert)
            return Concat(data[..start], data[(start + length)..]);
        int at = random.Next(data.Length + 1), times = 1 + random.Next(4);
        var range = data[start..(start + length)];
        return Concat([data[..at], .. Enumerable.Repeat(range, times), data[at..]]);
    }

    private static byte[] InsertRandom(byte[] data, Random random)
    {
        var bytes = new byte[1 + random.Next(16)];
        random.NextBytes(bytes);
        int at = random.Next(data.Length + 1);
        return Concat(data[..at], bytes, data[at..]);
    }

    private static byte[]? RandomiseRange(byte[] data, Random random)
    {
        if (data.Length == 0)
            return null;
        var copy = (byte[])data.Clone();
        int start = random.Next(copy.Length);
        random.NextBytes(copy.AsSpan(start, 1 + random.Next(Math.Min(16, copy.Length - start))));
        return copy;
    }
}

/// <summary>One case that threw something other than the documented exception; <see cref="Case"/> replays it.</summary>
internal sealed record FuzzFailure(int Case, string Seed, string Mutations, byte[] Data, Exception Error)
{
    /// <summary>The exception type and the frame that threw it: failures with the same kind are one bug.</summary>
    public string Kind => $"{Error.GetType().Name} {Error.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}";

    public override string ToString() =>
        $"case {Case} ({Seed}: {Mutations}; {Data.Length} bytes, first 64: {Convert.ToHexString(Data.AsSpan(0, Math.Min(64, Data.Length)))}): " +
        $"{Error.GetType().Name}: {Error.Message}";
}

/// <summary>What a fuzz run saw: every case either decoded, was refused with the documented exception, or is a failure.</summary>
internal sealed record FuzzReport(string Format, int Cases, int Decoded, int Refused, IReadOnlyList<FuzzFailure> Failures)
{
    /// <summary>
    /// The cases per format: <paramref name="suiteDefault"/> in the suite, or SHARPSEG_FUZZ_CASES for a longer campaign
    /// (the same seeds and cases, then more), e.g. <c>SHARPSEG_FUZZ_CASES=300000 dotnet test --filter Fuzz</c>.
    /// </summary>
    public static int CasesPerFormat(int suiteDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("SHARPSEG_FUZZ_CASES"), out int cases) && cases > 0 ? cases : suiteDefault;

    /// <summary>
    /// Runs <paramref name="cases"/> mutations, round-robin over <paramref name="seeds"/>, through <paramref name="decode"/>.
    /// Each case's Random is derived from (<paramref name="seed"/>, case index) so a failure replays on its own.
    /// </summary>
    public static FuzzReport Run<TDocumented>(string format, IReadOnlyList<(string Name, byte[] Data)> seeds, int cases, int seed,
        Mutator mutator, Action<byte[], Random> decode) where TDocumented : Exception
    {
        int decoded = 0, refused = 0;
        var failures = new List<FuzzFailure>();
        for (int i = 0; i < cases; i++)
        {
            var random = new Random(unchecked(seed * 1_000_003 + i) & int.MaxValue);
            var (name, original) = seeds[i % seeds.Count];
            var (data, description) = mutator.Mutate(original, random);
            try
            {
                decode(data, random);
                decoded++;
            }
            catch (TDocumented)
            {
                refused++;
            }
            catch (Exception e)
            {
                failures.Add(new FuzzFailure(i, name, description, data, e));
            }
        }
        return new FuzzReport(format, cases, decoded, refused, failures);
    }

    /// <summary>The counts, then each kind of failure with how often it happened and its first case.</summary>
    public override string ToString() =>
        $"{Format}: {Cases} cases, {Decoded} decoded, {Refused} refused, {Failures.Count} failures" +
        string.Concat(Failures.GroupBy(f => f.Kind).Select(g => $"\n  {g.Count()}× {g.Key}\n    first: {g.First()}"));
}
