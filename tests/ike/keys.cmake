# IKE key derivation tests: src/ike/keys.c and the PRFs (src/crypto/prf.c)
# against tests/vectors/ikev2_kdf.json and hmac.json.
secpol_unit_test(test_ike_keys test_keys.c)
target_link_libraries(test_ike_keys PRIVATE secpol_ike secpol_test_vectors)
# The SK payload (src/ike/sk.c): the RFC 7634 IKEv2 example and round trips.
secpol_unit_test(test_ike_sk test_sk.c)
target_link_libraries(test_ike_sk PRIVATE secpol_ike secpol_test_vectors)
# Policy security methods as proposals, and the responder's choice (src/ike/proposal.c).
secpol_unit_test(test_ike_proposal test_proposal.c)
target_link_libraries(test_ike_proposal PRIVATE secpol_ike)
