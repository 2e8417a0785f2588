/* SPDX-License-Identifier: MIT */
/*
 * Keys of the JWT and snapshot fuzzers, made for them alone (never a tenant's or a fleet's): the
 * fuzzer signs with the private keys, the parser under test gets the public ones (as a JWKS, or
 * a PEM file). The seed tokens in tests/fuzz/corpus/jwt and the seed snapshots in
 * tests/fuzz/corpus/snapshot are signed with them too (tests/fuzz/make-seeds.py).
 */
#ifndef A0_FUZZ_KEYS_H
#define A0_FUZZ_KEYS_H

/* RSA 2048, kids fuzz-rsa (alg RS256) and fuzz-rsa-any (no alg: RS256 or PS256). */
static const char fuzz_rsa_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC1EbzA2eR7fL6v\n"
	"VGPogde8tSAYChfiqpR5N0EXDkhfhFK9JqictkdmoWCaNN9CrCj31IWYLRpAqjsb\n"
	"brBJlRQDB/WMa/Ek6fMYEvn/X3TcqUg73DEuA6Q7TF3k5k0f/TC9N6RzWO2n58V5\n"
	"nAuSOHwwYaZmN+1/CqfJu8L4r9bojL+Ep6f3aSxmGTuxHy3brVqQeokeJmySclYC\n"
	"CPgimi845m4p4KnAzxe2hGnJC0A7XvJ7HG14txkQ8BhSDzE8iQkDtiD8XoiAi3Nu\n"
	"29kPyLgf+bxXPsoC7FBa6QS9NztZc/ASiTnujtXd/N2B2LfJmbWxpo2F4abf5n7E\n"
	"dIVOV9yTAgMBAAECggEAAY3uCboDW59dB3uD0LhVFGd54I6Cg6ZaO9YpikZoR96G\n"
	"jGu0QvdBZ/7d4rbKtIjD7tNj2DXe6VMXdV0bgfxtJJv2fma40qEi2tVxF93co+j5\n"
	"O382B8KYWp1Mmw1Hv3B/uB11AOZ+0LCUSQXPMhCnS2NBcJtRFVnWkQVIdNEVLmNS\n"
	"yGr/bS8pSz7gTPAL4mYJv/3hXhDKQmifP56LbPoPUfIW52zXqhQVRQUBRC+aXS3u\n"
	"EJulTMfrt6R9ugCblHo/pOPakfN6jynJ4JjkM45j0fjFBx+/R6Nh7PRi9vgo+QNN\n"
	"fSXOj4QrVtwuFs9qxarq3ZX33yQhbat7Trz75S1czQKBgQDn5Pdu13LuFTfiielw\n"
	"Rm9E2j1Fd2jnRhGRdEzZNIadr0w2PrswCBAq5Ey8T+vQrVXgoGJK+if9ApZ5nGg9\n"
	"9WBzPfiHlFc9VwQFhWHzd6V16bPlulwPiNUcS1OCPBxY6Vju14+/3ldppdeupCXz\n"
	"EeBo5CDY6ksoHdHYSbjkVcGY7QKBgQDH5D5clZH4w+xZUE6rteM9kC+NIvccJgh/\n"
	"e5pT4TDVNO8MFALt0DftwqWppR343jaC4ne+WOThwl4nZVcoYCLkeoLrbJtl+Boh\n"
	"RIKB6vxiocs8TtNTpMnr/SPXe1xIQjmq2XclFIKrBi9rPJFC+QjDDmnELi311kTX\n"
	"n26Ej1wbfwKBgQCVk+Jqc7xlh/g5Pt39luE011TIVyKqc07ntM3RGQlv8t/E6afS\n"
	"bpEHKaW5ng+s1fHb53gfhsZ+c8nd/Z5bwMgK7cE+qteu8E7exM+OvPFUYn+wwgmZ\n"
	"15gnHQtrqRxb2YCM5yyJBYD624eI1cbIyBIpdmUdpdr+sGVoDv2dAxfSbQKBgGdY\n"
	"VvGRFt4RlXF7tqDKMglTMXJ7wFyaQUx/wANb6t5gNrL86aLAQxo2x2WVC5Dueipj\n"
	"IduUpAkgb4NYvp4OThvoRyWmihVHF2NZw0ueDQyFb8jnTBTznr3Wq6AtlEF7k8sE\n"
	"EbhnCUOYuA1uS//fNyt5mS8nXPW76O297Oq2H73LAoGBAK4JZH02/NMA13sD/2eT\n"
	"omviTUpmwbYHMEuZh3qr296w+9xXryDVFi9sU29sdXKp/KLVyzL1UMOLqBIvFbMa\n"
	"PfVpBl9283xrZTjYDxZ/fzD2faYoockxwhe2ZsTWQNwJUGgabq6oasO++5f20TY8\n"
	"iv/oIRg7elUPXnrYAK4dgxeD\n"
	"-----END PRIVATE KEY-----\n";

/* EC P-256, kid fuzz-ec (ES256). */
static const char fuzz_ec_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIqEhb/XIE+oJvLJ6\n"
	"lDq5UugpqiQDZdVMEb5PRZgxL86hRANCAARm5DiOmMdqKowgDwbsV1ZdUoTdemGE\n"
	"TCeGoEeQWQ8HgsZNtWWJSO4SFfkrsT1gtHFaMiXY1Z+FEJE/Las01KKz\n"
	"-----END PRIVATE KEY-----\n";

/* The public keys, plus a symmetric key and an encryption key that must never verify. */
static const char fuzz_jwks[] =
	"{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"fuzz-rsa\",\"n\":\"tRG8wNnke3y-r1Rj6IHX"
	"vLUgGAoX4qqUeTdBFw5IX4RSvSaonLZHZqFgmjTfQqwo99SFmC0aQKo7G26wSZUUAwf1jGvxJOnzGBL5_1903KlIO9"
	"wxLgOkO0xd5OZNH_0wvTekc1jtp-fFeZwLkjh8MGGmZjftfwqnybvC-K_W6Iy_hKen92ksZhk7sR8t261akHqJHiZs"
	"knJWAgj4IpovOOZuKeCpwM8XtoRpyQtAO17yexxteLcZEPAYUg8xPIkJA7Yg_F6IgItzbtvZD8i4H_m8Vz7KAuxQWu"
	"kEvTc7WXPwEok57o7V3fzdgdi3yZm1saaNheGm3-Z-xHSFTlfckw\",\"e\":\"AQAB\"},{\"kty\":\"RSA\",\"use\":\"sig\""
	",\"kid\":\"fuzz-rsa-any\",\"n\":\"tRG8wNnke3y-r1Rj6IHXvLUgGAoX4qqUeTdBFw5IX4RSvSaonLZHZqFgmjTfQqw"
	"o99SFmC0aQKo7G26wSZUUAwf1jGvxJOnzGBL5_1903KlIO9wxLgOkO0xd5OZNH_0wvTekc1jtp-fFeZwLkjh8MGGmZ"
	"jftfwqnybvC-K_W6Iy_hKen92ksZhk7sR8t261akHqJHiZsknJWAgj4IpovOOZuKeCpwM8XtoRpyQtAO17yexxteLc"
	"ZEPAYUg8xPIkJA7Yg_F6IgItzbtvZD8i4H_m8Vz7KAuxQWukEvTc7WXPwEok57o7V3fzdgdi3yZm1saaNheGm3-Z-x"
	"HSFTlfckw\",\"e\":\"AQAB\"},{\"kty\":\"EC\",\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"fuzz-ec\",\"crv\":\"P-256\""
	",\"x\":\"ZuQ4jpjHaiqMIA8G7FdWXVKE3XphhEwnhqBHkFkPB4I\",\"y\":\"xk21ZYlI7hIV-SuxPWC0cVoyJdjVn4UQkT"
	"8tqzTUorM\"},{\"kty\":\"oct\",\"kid\":\"fuzz-oct\",\"k\":\"c2VjcmV0\"},{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\""
	"fuzz-enc\",\"n\":\"tRG8wNnke3y-r1Rj6IHXvLUgGAoX4qqUeTdBFw5IX4RSvSaonLZHZqFgmjTfQqwo99SFmC0aQKo"
	"7G26wSZUUAwf1jGvxJOnzGBL5_1903KlIO9wxLgOkO0xd5OZNH_0wvTekc1jtp-fFeZwLkjh8MGGmZjftfwqnybvC-"
	"K_W6Iy_hKen92ksZhk7sR8t261akHqJHiZsknJWAgj4IpovOOZuKeCpwM8XtoRpyQtAO17yexxteLcZEPAYUg8xPIk"
	"JA7Yg_F6IgItzbtvZD8i4H_m8Vz7KAuxQWukEvTc7WXPwEok57o7V3fzdgdi3yZm1saaNheGm3-Z-xHSFTlfckw\",\""
	"e\":\"AQAB\"}]}";

/* Ed25519, the snapshot fuzzer's signer (fuzz_snapshot.c; the seeds are signed with it too). */
static const char fuzz_ed25519_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEICImDJosk2asAlzJKYDnmik3z5IPu2MC7nPKGBRX93cn\n"
	"-----END PRIVATE KEY-----\n";
static const char fuzz_ed25519_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEArvMygUaZvlB16C767Qfm9jaxcBLJ6Kar73Lol+80Uoc=\n"
	"-----END PUBLIC KEY-----\n";
#define FUZZ_SNAPSHOT_MAX_AGE 86400 /* what the snapshot fuzzer accepts, before FUZZ_NOW */

#define FUZZ_ISSUER "https://tenant.example.com/"
#define FUZZ_CLIENT_ID "pam-native"
#define FUZZ_NOW 1700000000 /* the seeds' iat; their exp is a day later */
/* What the targets expect of a token: const struct a0_jwt_expect x = FUZZ_EXPECT; */
#define FUZZ_EXPECT                                                                               \
	{                                                                                         \
		.issuer = FUZZ_ISSUER, .client_id = FUZZ_CLIENT_ID, .now = FUZZ_NOW, .leeway = 60 \
	}

#endif
