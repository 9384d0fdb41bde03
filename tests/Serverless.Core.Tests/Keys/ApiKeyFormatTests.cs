using Serverless.Core.Keys;

namespace Serverless.Core.Tests.Keys;

public sealed class ApiKeyFormatTests
{
    private const string Prefix = "sk-svl";

    [Fact]
    public void Generated_key_is_prefix_id_secret_and_checksum_of_fixed_lengths()
    {
        var (key, keyId) = ApiKeyFormat.Generate(Prefix);

        var parts = key[(Prefix.Length + 1)..].Split('-');
        Assert.StartsWith("sk-svl-", key, StringComparison.Ordinal);
        Assert.Equal(Prefix.Length + 64, key.Length);
        Assert.Equal(3, parts.Length);
        Assert.Equal(keyId, parts[0]);
        Assert.Equal(12, parts[0].Length);
        Assert.Equal(43, parts[1].Length);
        Assert.Equal(6, parts[2].Length);
        Assert.Equal(ApiKeyParseResult.Valid, ApiKeyFormat.Parse(key, Prefix, out var parsedId));
        Assert.Equal(keyId, parsedId.ToString());
    }

    [Fact]
    public void Secret_carries_at_least_256_bits_of_randomness()
    {
        var bitsPerChar = Math.Log2(ApiKeyFormat.Base62Alphabet.Distinct().Count());
        Assert.True(ApiKeyFormat.SecretLength * bitsPerChar >= 256, $"{ApiKeyFormat.SecretLength * bitsPerChar} bits");

        // The secret really is drawn from the whole alphabet at every position, and never repeats.
        var secrets = Enumerable.Range(0, 3000).Select(_ => ApiKeyFormat.Generate(Prefix).Key.Split('-')[^2]).ToList();
        Assert.Equal(secrets.Count, secrets.Distinct(StringComparer.Ordinal).Count());
        Assert.All(secrets, s => Assert.Equal(ApiKeyFormat.SecretLength, s.Length));
        for (var position = 0; position < ApiKeyFormat.SecretLength; position++)
        {
            var seen = secrets.Select(s => s[position]).Distinct().Count();
            Assert.Equal(62, seen);
        }
    }

    [Fact]
    public void Every_single_character_substitution_is_detected()
    {
        var (key, _) = ApiKeyFormat.Generate(Prefix);
        var alphabet = ApiKeyFormat.Base62Alphabet + "-_";

        for (var index = 0; index < key.Length; index++)
        {
            foreach (var replacement in alphabet)
            {
                if (replacement == key[index])
                {
                    continue;
                }

                var chars = key.ToCharArray();
                chars[index] = replacement;
                var result = ApiKeyFormat.Parse(new string(chars), Prefix, out _);
                Assert.True(result != ApiKeyParseResult.Valid, $"'{replacement}' at {index} went unnoticed");
            }
        }
    }

    [Fact]
    public void Typo_in_the_secret_is_a_checksum_failure_not_a_shape_failure()
    {
        var (key, _) = ApiKeyFormat.Generate(Prefix);
        var secretStart = Prefix.Length + 1 + ApiKeyFormat.KeyIdLength + 1;

        for (var index = secretStart; index < secretStart + ApiKeyFormat.SecretLength; index++)
        {
            var chars = key.ToCharArray();
            chars[index] = chars[index] == 'Q' ? 'R' : 'Q';
            Assert.Equal(ApiKeyParseResult.BadChecksum, ApiKeyFormat.Parse(new string(chars), Prefix, out _));
        }
    }

    [Fact]
    public void Adjacent_transpositions_are_detected()
    {
        var (key, _) = ApiKeyFormat.Generate(Prefix);

        for (var index = 0; index < key.Length - 1; index++)
        {
            if (key[index] == key[index + 1])
            {
                continue;
            }

            var chars = key.ToCharArray();
            (chars[index], chars[index + 1]) = (chars[index + 1], chars[index]);
            Assert.NotEqual(ApiKeyParseResult.Valid, ApiKeyFormat.Parse(new string(chars), Prefix, out _));
        }
    }

    [Fact]
    public void Key_made_under_another_prefix_is_malformed()
    {
        var (key, _) = ApiKeyFormat.Generate("sk-other");

        Assert.Equal(ApiKeyParseResult.Malformed, ApiKeyFormat.Parse(key, Prefix, out _));
        Assert.Equal(ApiKeyParseResult.Valid, ApiKeyFormat.Parse(key, "sk-other", out _));
    }

    [Theory]
    [InlineData("sk-svl", true)]
    [InlineData("acme", true)]
    [InlineData("sk-live-2", true)]
    [InlineData("", false)]
    [InlineData("SK-svl", false)]
    [InlineData("-sk", false)]
    [InlineData("sk-", false)]
    [InlineData("sk--svl", false)]
    [InlineData("sk_svl", false)]
    [InlineData("a-prefix-far-too-long", false)]
    public void Prefix_is_lower_case_words_joined_by_single_dashes(string prefix, bool valid) =>
        Assert.Equal(valid, ApiKeyFormat.IsValidPrefix(prefix));
}
