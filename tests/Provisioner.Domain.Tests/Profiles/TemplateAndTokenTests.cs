using System.Text;
using Provisioner.Domain.Machines;
using Provisioner.Domain.Profiles;

namespace Provisioner.Domain.Tests.Profiles;

public sealed class ProfileTemplateTests
{
    private static ProfileTemplate Parse(string text)
    {
        var problems = new List<ConfigProblem>();
        var template = ProfileTemplate.Parse(text, "t", TemplateVariables.Names, problems);
        Assert.Empty(problems);
        return template!;
    }

    [Fact]
    public void Placeholders_are_replaced_and_spaces_inside_braces_are_allowed()
    {
        var template = Parse("a {{mac}} b {{ hostname }} c {{mac}}");

        var text = template.Render(new Dictionary<string, string> { ["mac"] = "m", ["hostname"] = "h" }, TemplateOutput.Kickstart);

        Assert.Equal("a m b h c m", text);
        Assert.Equal(["mac", "hostname"], template.Placeholders);
    }

    [Fact]
    public void Values_are_never_evaluated_as_templates()
    {
        var text = Parse("{{hostname}}").Render(new Dictionary<string, string> { ["hostname"] = "{{mac}}" }, TemplateOutput.Kickstart);

        Assert.Equal("{{mac}}", text);
    }

    [Fact]
    public void Ipxe_output_refuses_a_value_with_a_newline_kickstart_output_keeps_it()
    {
        var template = Parse("kernel {{kernel_args}}");
        var values = new Dictionary<string, string> { ["kernel_args"] = "quiet\nshell" };

        Assert.Throws<TemplateRenderException>(() => template.Render(values, TemplateOutput.Ipxe));
        Assert.Equal("kernel quiet\nshell", template.Render(values, TemplateOutput.Kickstart));
    }

    [Theory]
    [InlineData("{{ }}")]
    [InlineData("{{a-b}}")]
    [InlineData("{{1x}}")]
    [InlineData("{{nope}}")]
    public void Malformed_or_unknown_placeholders_are_problems(string text)
    {
        var problems = new List<ConfigProblem>();

        Assert.Null(ProfileTemplate.Parse(text, "t", TemplateVariables.Names, problems));
        Assert.Single(problems);
    }
}

public sealed class KickstartTokensTests
{
    private static readonly byte[] Secret = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly MachineId Mac = MachineId.Parse("aa:bb:cc:dd:ee:ff");
    private static readonly MachineId OtherMac = MachineId.Parse("aa:bb:cc:dd:ee:00");

    [Fact]
    public void Issued_token_verifies_to_its_machine()
    {
        var tokens = KickstartTokens.FromSecret(Secret);

        var token = tokens.Issue(Mac);

        Assert.Equal(KickstartTokens.TokenLength, token.Length);
        Assert.Equal(26, token.Length);
        Assert.Matches("^[a-z2-7]+$", token);
        Assert.True(tokens.TryVerify(token, out var mac));
        Assert.Equal(Mac, mac);
        Assert.Equal(token, tokens.Issue(Mac));
    }

    [Fact]
    public void Tokens_differ_per_machine_and_per_secret()
    {
        var tokens = KickstartTokens.FromSecret(Secret);
        var other = KickstartTokens.FromSecret(Enumerable.Repeat((byte)7, 32).ToArray());

        Assert.NotEqual(tokens.Issue(Mac), tokens.Issue(OtherMac));
        Assert.False(other.TryVerify(tokens.Issue(Mac), out _));
    }

    [Fact]
    public void Changing_any_character_breaks_the_token()
    {
        var tokens = KickstartTokens.FromSecret(Secret);
        var token = tokens.Issue(Mac);

        for (var i = 0; i < token.Length; i++)
        {
            var chars = token.ToCharArray();
            chars[i] = chars[i] == 'a' ? 'b' : 'a';
            Assert.False(tokens.TryVerify(new string(chars), out _), $"position {i}");
        }
    }

    [Fact]
    public void Swapping_the_mac_inside_a_token_is_detected()
    {
        var tokens = KickstartTokens.FromSecret(Secret);
        // Re-encode the other machine's MAC with this machine's tag: the tag no longer matches.
        var forged = tokens.Issue(OtherMac)[..9] + tokens.Issue(Mac)[9..];

        Assert.False(tokens.TryVerify(forged, out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaa1")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void Malformed_tokens_are_refused(string? token) =>
        Assert.False(KickstartTokens.FromSecret(Secret).TryVerify(token, out _));

    [Fact]
    public void Random_strings_never_throw_and_never_verify()
    {
        var tokens = KickstartTokens.FromSecret(Secret);
        var random = new Random(42);
        const string chars = "abcdefghijklmnopqrstuvwxyz234567=ABC01-_";
        for (var i = 0; i < 5000; i++)
        {
            var builder = new StringBuilder();
            var length = random.Next(20, 30);
            for (var j = 0; j < length; j++)
            {
                builder.Append(chars[random.Next(chars.Length)]);
            }

            Assert.False(tokens.TryVerify(builder.ToString(), out _));
        }
    }

    [Fact]
    public void A_short_secret_is_refused() =>
        Assert.Throws<ArgumentException>(() => KickstartTokens.FromSecret(new byte[16]));
}
