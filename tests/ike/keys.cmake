# IKE key derivation tests: src/ike/keys.c and the PRFs (src/crypto/prf.c)
# against tests/vectors/ikev2_kdf.json and hmac.json.
secpol_unit_test(test_ike_keys test_keys.c)
target_link_libraries(test_ike_keys PRIVATE secpol_ike secpol_test_vectors)
