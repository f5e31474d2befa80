/* gencorners: gencap's scenarios for the corners of call accounting
 * (partial dialogs, media addresses used again, RTP no SDP announced, ICMP
 * errors quoting SIP, SIP over WebSocket); see gencorners.c. */
#ifndef CW_GENCORNERS_H
#define CW_GENCORNERS_H

/* Runs the scenario argv[1] names: 0 on success, 1 on failure, -1 when
 * argv names none of them. */
int gencorners(int argc, char **argv);

#endif
