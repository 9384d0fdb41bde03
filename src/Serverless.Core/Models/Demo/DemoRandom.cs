namespace Serverless.Core.Models.Demo;

/// <summary>
/// SplitMix64: tiny, fast and fully specified, so a seed gives the same weights on every runtime and
/// platform (System.Random's seeded sequence is an implementation detail we should not pin files to).
/// </summary>
internal sealed class DemoRandom(int seed)
{
    private ulong _state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL) ^ 0xD1B54A32D192ED03UL;

    public ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [-1, 1); built from 24 random bits so the float is exact and platform-independent.</summary>
    public float NextSignedUnit() => ((float)(NextUInt64() >> 40) * (1f / (1 << 23))) - 1f;

    /// <summary>Uniform integer in [0, bound) (bias is irrelevant for bounds this small).</summary>
    public int NextInt(int bound) => (int)((NextUInt64() >> 33) % (ulong)bound);
}
